"""The one XML parser of the hub. Every XML input goes through here.

lxml defaults are not safe enough: before 6.1 ``iterparse()`` resolved external entities
(CVE-2026-41066), and internal entities are still expanded by default. Here every parser is
built with ``resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
attribute_defaults=False, huge_tree=False, decompress=False``; documents with a DOCTYPE
(internal DTD) or entity references are rejected outright; input size is capped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

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
)


class UnsafeXmlError(ValueError):
    """The document uses a DTD, entities or is too large."""


class XmlSyntaxError(ValueError):
    """The document is not well-formed or not valid against its schema."""


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
    """Parse a whole document held in memory (small documents: SOAP envelopes, responses)."""
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"XML document larger than {max_bytes} bytes")
    _check_declarations(data)
    try:
        root = etree.fromstring(data, parser=make_parser(schema))
    except etree.XMLSyntaxError as exc:
        raise XmlSyntaxError(f"XML is not well-formed or not valid: {exc}") from None
    _check_tree(root)
    _check_entities(root)
    return root


def load_schema(path: Path) -> etree.XMLSchema:
    """Load an XSD (a local file; imports resolve to local files only, no network)."""
    doc = etree.parse(str(path), parser=make_parser())
    return etree.XMLSchema(doc)


def iter_elements(
    chunks: Iterable[bytes],
    tag: str | tuple[str, ...],
    *,
    schema: etree.XMLSchema | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    siblings: Iterable[str] = (),
) -> Iterator[etree._Element]:
    """Stream a document chunk by chunk and yield each complete ``tag`` element (or each
    element of any of several tags).

    Only elements of those tags, and of ``siblings``, raise parser events (an event for
    every element would cost more than the parsing itself). Memory stays flat: each yielded
    element is cleared after the caller has used it (so copy what you need before asking for
    the next one) and is dropped from the tree with every finished sibling before it;
    ``siblings`` elements are dropped as soon as they end. Name in ``siblings`` the other
    elements that may come in long runs between wanted ones (the other record types of an
    export), otherwise such a run stays in the tree until the next wanted element ends. With
    ``schema`` the whole document is validated while it streams; a violation raises
    :class:`XmlSyntaxError` where it is found.
    """
    wanted = {tag} if isinstance(tag, str) else set(tag)
    parser = etree.XMLPullParser(
        events=("end",), tag=sorted(wanted | set(siblings)), schema=schema, **PARSER_OPTIONS
    )
    total, started, tail = 0, False, b""

    def events() -> Iterator[etree._Element]:
        nonlocal started
        for _, elem in parser.read_events():
            if not started:
                _check_tree(elem)
                started = True
            if elem.tag in wanted:
                _check_entities(elem)
                yield elem
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:  # drop it and every finished sibling before it
                while elem.getprevious() is not None:
                    del parent[0]
                parent.remove(elem)

    try:
        for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeXmlError(f"XML document larger than {max_bytes} bytes")
            if not started:  # declarations can only come before the root element
                _check_declarations(tail + chunk)
                tail = chunk[-16:]
            parser.feed(chunk)
            yield from events()
        parser.close()
        yield from events()
    except etree.XMLSyntaxError as exc:
        raise XmlSyntaxError(f"XML is not well-formed or not valid: {exc}") from None


def iter_file_elements(
    path: Path,
    tag: str,
    *,
    schema: etree.XMLSchema | None = None,
    chunk_size: int = 1 << 16,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[etree._Element]:
    """:func:`iter_elements` over a file on disk."""

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while block := fh.read(chunk_size):
                yield block

    return iter_elements(chunks(), tag, schema=schema, max_bytes=max_bytes)
