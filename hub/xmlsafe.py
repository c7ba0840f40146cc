"""The one XML parser of the hub. Every XML input goes through here.

lxml defaults are not safe enough: before 6.1 ``iterparse()`` resolved external entities
(CVE-2026-41066), and internal entities are still expanded by default. Here every parser is
built with ``resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
attribute_defaults=False, huge_tree=False, decompress=False``; documents with a DOCTYPE
(internal DTD) or entity references are rejected outright; input size is capped. Comments
and processing instructions are dropped while parsing: they are not content, and a comment
inside a value must not cut the value short (``<hetu>0101<!-- -->90-999W</hetu>`` is
``010190-999W``).

Well-formedness and validity are checked in separate layers. The streaming parser is never
given a schema: libxml2 does not report a premature end of input when it validates while it
streams with entities unresolved, so a document cut short would pass as complete. Instead
:class:`RecordValidator` validates each record element on its own against the schema
(a bad record fails alone while the rest flows), and a document ends only when its root
element has been closed: :class:`IncompleteXmlError` otherwise.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from lxml import etree

DEFAULT_MAX_BYTES = 512 * 1024 * 1024

PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    attribute_defaults=False,
    huge_tree=False,
    decompress=False,
    remove_blank_text=False,
    remove_comments=True,
    remove_pis=True,
)


class UnsafeXmlError(ValueError):
    """The document uses a DTD, entities or is too large."""


class XmlSyntaxError(ValueError):
    """The document is not well-formed (or, parsed whole, not valid against its schema)."""


class IncompleteXmlError(XmlSyntaxError):
    """The input ended before the document did: cut short, empty, or no root element. A
    half-written file or a cut transfer looks like this; reading it again later may work."""


class XmlContractError(XmlSyntaxError):
    """The document is well-formed but its structure is not the contract's (text between
    records, another root element): no single record is to blame."""


def make_parser(schema: etree.XMLSchema | None = None) -> etree.XMLParser:
    return etree.XMLParser(schema=schema, **PARSER_OPTIONS)


def _check_tree(root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise UnsafeXmlError("XML documents with a DOCTYPE or DTD are not accepted")


_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


def _check_declarations(data: bytes) -> None:
    """Refuse DTD and entity declarations before libxml2 sees them (ASCII-compatible
    encodings; others are caught by the DOCTYPE check of the parsed tree)."""
    for marker in _DECLARATIONS:
        if marker in data:
            raise UnsafeXmlError("XML documents with a DOCTYPE or DTD are not accepted")


def _check_entities(elem: etree._Element) -> None:
    for node in elem.iter(etree.Entity):
        raise UnsafeXmlError(f"XML entity reference &{node.name}; is not accepted")


def parse_bytes(
    data: bytes, *, schema: etree.XMLSchema | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._Element:
    """Parse a whole document held in memory (small documents: SOAP envelopes, responses).
    With ``schema`` the document must be valid as a whole. A document that ends before its
    root is closed is an :class:`IncompleteXmlError`, as when streamed."""
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"XML document larger than {max_bytes} bytes")
    _check_declarations(data)
    parser = make_parser()
    try:
        parser.feed(data)
    except etree.XMLSyntaxError as exc:
        raise XmlSyntaxError(f"XML is not well-formed: {exc}") from None
    try:
        root = parser.close()
    except etree.XMLSyntaxError as exc:  # out of input while the document was open
        if str(exc).startswith("no element found") and _START_TAG.search(data):
            raise XmlSyntaxError(
                "XML is not well-formed: the parser stopped on an error it does not name "
                "(an undeclared entity reference?)"
            ) from None
        raise IncompleteXmlError(f"XML document ends before it is complete: {exc}") from None
    _check_tree(root)
    _check_entities(root)
    if schema is not None:
        with _validating:
            if not schema.validate(root):
                raise XmlSyntaxError(f"XML is not valid: {_first_error(schema)}")
    return root


_START_TAG = re.compile(rb"<[A-Za-z_]")
_validating = threading.Lock()


def _first_error(schema: etree.XMLSchema) -> str:
    error = schema.error_log[0] if schema.error_log else None
    return f"line {error.line}: {error.message}" if error is not None else "not valid"


def load_schema(path: Path) -> etree.XMLSchema:
    """Load an XSD (a local file; imports resolve to local files only, no network)."""
    doc = etree.parse(str(path), parser=make_parser())
    return etree.XMLSchema(doc)


# --- record by record ---------------------------------------------------------------------


class Invalid(NamedTuple):
    """Why an element is not valid: the element or attribute to blame (local name), what
    is wrong (the element's values never quoted) and the line of the document."""

    name: str
    message: str
    line: int | None


_ELEMENT = re.compile(
    r"^Element '(?:\{[^}]*\})?(?P<name>[^']+)'(?:, attribute '(?P<attribute>[^']+)')?: "
)
#: a namespace in an lxml message, e.g. ``{urn:fi:hub:municipal:import:1}`` (not ``{6}``)
_NAMESPACE = re.compile(r"\{[^}]*:[^}]*\}")
_QUOTED = re.compile(r"'([^']*)'")
_MISSING = re.compile(
    r"^(?:Missing child element\(s\)\. Expected is \( ([^ ,)]+) \)"
    r"|The attribute '([^']+)' is required but missing)"
)


def describe_invalid(message: str, values: Collection[str], default: str) -> tuple[str, str]:
    """(element or attribute to blame, what is wrong) from a libxml2 schema message, with
    every quoted text that is one of ``values`` (the record's own) shown as ``'…'`` and
    namespaces left out. The schema's own words (patterns, element names) stay."""
    found = _ELEMENT.match(message)
    name = (found["attribute"] or found["name"]) if found else default
    text = message[found.end() :] if found else message
    text = _QUOTED.sub(lambda q: "'…'" if q[1] in values else q[0], text)
    return name, _NAMESPACE.sub("", text).strip()


class RecordValidator:
    """Validates one element at a time against the global declaration of its name in a
    schema: each record of a streamed document on its own, so that an invalid record is
    found, named and quarantined while the records around it flow (and memory stays flat).
    Thread-safe (a schema keeps its error log, so validation is serialised)."""

    def __init__(self, path: Path):
        self.schema = load_schema(path)
        self._lock = threading.Lock()

    def invalid(self, elem: etree._Element) -> Invalid | None:
        """Why ``elem`` (and everything in it) is not valid, or None."""
        with self._lock:
            if self.schema.validate(elem):
                return None
            error = self.schema.error_log[0] if self.schema.error_log else None
        local = etree.QName(elem).localname
        if error is None:
            return Invalid(local, "not valid", elem.sourceline)
        values = {text for node in elem.iter() for text in (node.text, *node.attrib.values())}
        name, message = describe_invalid(error.message, values - {None}, local)
        missing = _MISSING.match(message)
        if missing:  # blame what is missing rather than the element that misses it
            name = etree.QName(missing[1] or missing[2]).localname
        return Invalid(name, message, error.line or elem.sourceline)

    def invalid_shallow(self, elem: etree._Element) -> Invalid | None:
        """Why the start tag of ``elem`` (its name and attributes, none of its children) is
        not valid: for a document's root or a container whose records are validated one by
        one. The schema must allow the element empty."""
        shallow = etree.Element(elem.tag, dict(elem.attrib), nsmap=elem.nsmap)
        shallow.sourceline = elem.sourceline
        return self.invalid(shallow)


# --- streaming ----------------------------------------------------------------------------


class Foreign(NamedTuple):
    """An element among the records of a streamed document that is none of the kinds the
    reader knows: its local name, line and the element itself (serialised, capped)."""

    name: str
    line: int | None
    xml: str


#: the most of a foreign element kept to show (it is kept in a dead letter)
FOREIGN_KEEP = 64 * 1024


class ElementStream:
    """A document streamed chunk by chunk, yielding each complete ``tag`` element (or each
    element of any of several tags), in flat memory.

    Only elements of those tags and of ``siblings`` raise parser events (an event for every
    element would cost more than the parsing itself). Each yielded element is cleared after
    the caller has used it (so copy what you need before asking for the next one) and is
    dropped from the tree with every finished sibling before it; ``siblings`` elements are
    dropped as soon as they end. Name in ``siblings`` the other record kinds that may come in
    long runs between wanted ones, otherwise such a run stays in the tree until the next
    wanted element ends.

    While it streams it notes what a reader needs to judge the document as a whole:
    ``root`` (the root element, its attributes readable from the first event on),
    ``counts`` (elements of every tag and sibling tag seen), and with ``foreign=True`` it
    yields, as :class:`Foreign`, every element among the records (a child of a wanted
    element's parent) that is of no known tag. Text between records is an
    :class:`XmlContractError`. The stream ends only at the end of a whole document:
    :class:`IncompleteXmlError` if the input stops before the root element is closed.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        tag: str | Iterable[str],
        *,
        siblings: Iterable[str] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        foreign: bool = False,
    ):
        self.chunks = chunks
        self.wanted = {tag} if isinstance(tag, str) else set(tag)
        self.known = self.wanted | set(siblings)
        self.max_bytes = max_bytes
        self.foreign = foreign
        self.root: etree._Element | None = None
        self.counts: Counter[str] = Counter()
        self.bytes = 0
        self._found: list[Foreign] = []
        self._containers: dict[int, etree._Element] = {}

    def __iter__(self) -> Iterator[etree._Element | Foreign]:
        parser = etree.XMLPullParser(events=("end",), tag=sorted(self.known), **PARSER_OPTIONS)
        tail = b""
        try:
            for chunk in self.chunks:
                self.bytes += len(chunk)
                if self.bytes > self.max_bytes:
                    raise UnsafeXmlError(f"XML document larger than {self.max_bytes} bytes")
                if self.root is None:  # declarations can only come before the root element
                    _check_declarations(tail + chunk)
                    tail = chunk[-16:]
                parser.feed(chunk)
                yield from self._events(parser)
        except etree.XMLSyntaxError as exc:
            raise XmlSyntaxError(f"XML is not well-formed: {exc}") from None
        try:
            root = parser.close()
        except etree.XMLSyntaxError as exc:  # out of input while the document was open
            if self.root is not None and str(exc).startswith("no element found"):
                # libxml2 gave up on an error it did not report (an undeclared entity
                # reference): the document broke, it did not end early
                raise XmlSyntaxError(
                    f"XML is not well-formed: the parser stopped after {self.bytes} bytes on "
                    "an error it does not name (an undeclared entity reference?)"
                ) from None
            raise IncompleteXmlError(f"XML document ends before it is complete: {exc}") from None
        if root is None:
            raise IncompleteXmlError("XML document ends before it is complete: no root element")
        yield from self._events(parser)
        self.root = root
        _check_tree(root)
        for container in self._containers.values():  # what is left after the last record
            self._drop_before(container, None)
            if container.text and container.text.strip():
                self._stray(container.sourceline)
        yield from self._take_found()

    def _events(self, parser: etree.XMLPullParser) -> Iterator[etree._Element | Foreign]:
        for _, elem in parser.read_events():
            if self.root is None:
                self.root = elem.getroottree().getroot()
                _check_tree(elem)
            tag = elem.tag
            self.counts[tag] += 1
            parent = elem.getparent()
            if parent is not None:
                if id(parent) not in self._containers:
                    self._containers[id(parent)] = parent
                    if parent.text and parent.text.strip():
                        self._stray(parent.sourceline)
                if elem.getprevious() is not None:  # only what raised no event: foreign
                    self._drop_before(parent, elem)
                    yield from self._take_found()
            if tag in self.wanted:  # (no entity nodes can be in it: no DTD got this far,
                yield elem  # and without one libxml2 stops at any entity reference)
            if elem.tail and elem.tail.strip():  # (text parsed later lands in the container)
                self._stray(elem.sourceline)
            elem.clear(keep_tail=False)
            if parent is not None:  # drop it and every finished sibling before it
                while elem.getprevious() is not None:
                    del parent[0]
                parent.remove(elem)

    def _drop_before(self, parent: etree._Element, elem: etree._Element | None) -> None:
        """Note the foreign elements before ``elem`` (all of ``parent``'s children: None)."""
        for child in parent:
            if child is elem:
                break
            if not isinstance(child.tag, str):  # comments are not kept by the parser
                continue
            if child.tag not in self.known:
                xml = etree.tostring(child, encoding="unicode", with_tail=False)
                self._found.append(
                    Foreign(etree.QName(child).localname, child.sourceline, xml[:FOREIGN_KEEP])
                )
            if child.tail and child.tail.strip():
                self._stray(child.sourceline)
        if elem is None:
            del parent[:]

    def _take_found(self) -> Iterator[Foreign]:
        found, self._found = self._found, []
        if self.foreign:
            yield from found

    @staticmethod
    def _stray(line: int | None) -> None:
        raise XmlContractError(f"text outside any record near line {line}")


def iter_elements(
    chunks: Iterable[bytes],
    tag: str | tuple[str, ...],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    siblings: Iterable[str] = (),
) -> Iterator[etree._Element]:
    """The ``tag`` elements of a streamed document (:class:`ElementStream`)."""
    return iter(ElementStream(chunks, tag, siblings=siblings, max_bytes=max_bytes))  # type: ignore[arg-type]
