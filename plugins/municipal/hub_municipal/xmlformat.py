"""Building and reading the case system's XML documents, shared by adapter and sandbox.

Every parse goes through :mod:`hub.xmlsafe`; documents are built with lxml's element API
(small import documents) or its incremental writer (exports, which may be large).
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from hub.privacy import redact
from hub.xmlsafe import (
    ElementStream,
    Foreign,
    RecordValidator,
    XmlContractError,
    XmlSyntaxError,
    describe_invalid,
    load_schema,
    make_parser,
    parse_bytes,
)
from hub_municipal import mapping as m

#: (element name, the case system's id, fields) of one exported record
ExportRecord = tuple[str, str, Mapping[str, Any]]


class DocumentError(ValueError):
    """A document is valid but not the one expected (another root, another municipality)."""


class ImportItem(NamedTuple):
    element: str
    key: str
    record_id: str | None
    fields: dict[str, Any]


class ImportResult(NamedTuple):
    key: str
    status: str
    record_id: str | None
    reason: str


def qname(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


@functools.cache
def export_schema() -> etree.XMLSchema:
    return load_schema(m.EXPORT_XSD)


@functools.cache
def import_schema() -> etree.XMLSchema:
    return load_schema(m.IMPORT_XSD)


@functools.cache
def _exported() -> tuple[str, ...]:
    """The record elements of the export."""
    return tuple(rt.element for rt in m.RECORD_TYPES.values() if rt.exported)


@functools.cache
def _repeated(tag: str) -> frozenset[str]:
    """The repeated children of the record element ``tag`` (qualified)."""
    return frozenset(m.BY_ELEMENT[etree.QName(tag).localname].repeated())


@functools.cache
def _localname(tag: str) -> str:
    return etree.QName(tag).localname


def record_fields(elem: etree._Element) -> dict[str, Any]:
    """The children of a record element valid against its schema as a JSON-able dict;
    repeated ones as lists (a valid record's children hold text only)."""
    repeated = _repeated(elem.tag)
    out: dict[str, Any] = {name: [] for name in repeated}
    for child in elem:
        name = _localname(child.tag)
        if name in repeated:
            out[name].append(child.text or "")
        else:
            out[name] = child.text or ""
    return out


def fields_as_read(elem: etree._Element) -> dict[str, Any]:
    """The children of a record that is NOT valid, everything kept as it came: a field
    given twice becomes the list of its values (none is chosen), an unknown child is kept
    under its name, a child with elements inside gives all of its text."""
    repeated = _repeated(elem.tag)
    out: dict[str, Any] = {name: [] for name in repeated}
    for child in elem:
        name = _localname(child.tag)
        text = "".join(child.itertext())
        if name in repeated:
            out[name].append(text)
        elif name in out:  # given twice, where the schema allows it once: all kept
            kept = out[name]
            out[name] = [*kept, text] if isinstance(kept, list) else [kept, text]
        else:
            out[name] = text
    return out


def _children(element: str, fields: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(child name, text) of a record in the XSD's order; missing fields are left out."""
    for f in m.BY_ELEMENT[element].fields:
        value = fields.get(f.native)
        if value is None:
            continue
        for item in value if f.repeated else [value]:
            yield f.native, str(item)


# --- export ---------------------------------------------------------------------------------


def export_chunks(
    export_id: str,
    municipality: str,
    generated: str,
    records: Iterable[ExportRecord],
    *,
    chunk_size: int = 64 * 1024,
) -> Iterator[bytes]:
    """An export document, produced chunk by chunk: only one chunk is ever in memory."""
    buf = io.BytesIO()
    ns = m.EXPORT_NS
    root_attrs = {
        m.EXPORT_ID_ATTR: export_id,
        m.EXPORT_MUNICIPALITY_ATTR: municipality,
        m.EXPORT_GENERATED_ATTR: generated,
    }
    with etree.xmlfile(buf, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(qname(ns, m.EXPORT_ROOT), root_attrs, nsmap={None: ns}):
            xf.write("\n")
            for element, record_id, fields in records:
                with xf.element(qname(ns, element), {m.RECORD_ID_ATTR: record_id}):
                    for name, text in _children(element, fields):
                        with xf.element(qname(ns, name)):
                            xf.write(text)
                xf.write("\n")
                if buf.tell() >= chunk_size:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
    yield buf.getvalue() + b"\n"


class ExportItem(NamedTuple):
    """One record of an export read for a stream: the case system's id, its fields and,
    when it breaks the export's contract, what is wrong (then ``fields`` keeps everything
    that was read, and ``xml`` the record as it came)."""

    record_id: str
    fields: dict[str, Any]
    problem: tuple[str, str] | None = None
    #: an element of no known kind among the records (not a record of the stream's kind)
    foreign: bool = False


#: the most of an invalid record's XML kept for its dead letter
KEEP_XML = 64 * 1024


@functools.cache
def _record_validator() -> RecordValidator:
    return RecordValidator(m.EXPORT_XSD)


class ExportReader:
    """An export streamed for one kind of record, checked in parts (the XSD as a whole is
    never given to the streaming parser, see :mod:`hub.xmlsafe`):

    - the start tag: valid (``exportId``, ``municipality``, ``generated``), the export id
      the one asked for, the municipality the adapter's;
    - each record of the kind on its own against its declaration in export.xsd: an
      invalid record is yielded with its problem (it becomes a dead letter; the others flow);
    - every element among the records that is none of the export's kinds is yielded as a
      record with a problem too (it may be a record of any kind: nothing is dropped unseen);
    - the document must end: :class:`hub.xmlsafe.IncompleteXmlError` if it stops short.

    After the iteration ``counts`` holds the records of each kind the document held, for
    the adapter to compare with what the export listing declared. Raises
    :class:`DocumentError` (another municipality), :class:`ExportMismatch` (another export)
    and the errors of :mod:`hub.xmlsafe`.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        element: str,
        *,
        export_id: str | None = None,
        municipality: str | None = None,
    ):
        self.element, self.export_id, self.municipality = element, export_id, municipality
        others = [qname(m.EXPORT_NS, e) for e in _exported() if e != element]
        self.stream = ElementStream(
            chunks,
            qname(m.EXPORT_NS, element),
            siblings=others,
            max_bytes=m.EXPORT_MAX_BYTES,
            foreign=True,
        )
        self._checked = False
        self._where = f"{export_id}/" if export_id else ""
        #: elements among the records of no known kind, by name
        self.foreign: dict[str, int] = {}

    @property
    def counts(self) -> dict[str, int]:
        """Elements among the records of each name (the export's kinds and any other) the
        document held."""
        counts = {_localname(tag): n for tag, n in self.stream.counts.items()}
        for name, n in self.foreign.items():
            counts[name] = counts.get(name, 0) + n
        return counts

    @property
    def bytes(self) -> int:
        return self.stream.bytes

    def __iter__(self) -> Iterator[ExportItem]:
        validator = _record_validator()
        for item in self.stream:
            if not self._checked:
                self._check_root()
            if isinstance(item, Foreign):
                self.foreign[item.name] = self.foreign.get(item.name, 0) + 1
                yield self._foreign(item)
                continue
            record_id = item.get(m.RECORD_ID_ATTR) or f"{self._where}line-{item.sourceline}"
            invalid = validator.invalid(item)
            if invalid is None:
                yield ExportItem(record_id, record_fields(item))
                continue
            fields = fields_as_read(item)
            fields["_xml"] = etree.tostring(item, encoding="unicode", with_tail=False)[:KEEP_XML]
            where = f" (line {invalid.line})" if invalid.line else ""
            message = f"not valid against {m.EXPORT_XSD.name}{where}: {invalid.message}"
            yield ExportItem(record_id, fields, (invalid.name, message))
        if not self._checked:  # an export without records
            self._check_root()

    def _check_root(self) -> None:
        root = self.stream.root
        self._checked = True
        if (
            root is None
            or etree.QName(root).localname != m.EXPORT_ROOT
            or (etree.QName(root).namespace != m.EXPORT_NS)
        ):
            name = etree.QName(root).text if root is not None else "none"
            raise XmlContractError(f"the root element is {name}, not <{m.EXPORT_ROOT}>")
        invalid = _record_validator().invalid_shallow(root)
        if invalid is not None:
            raise XmlContractError(f"<{m.EXPORT_ROOT}> {invalid.name}: {invalid.message}")
        found = root.get(m.EXPORT_ID_ATTR)
        if self.export_id is not None and found != self.export_id:
            raise ExportMismatch(f"the document is export {found}, not {self.export_id}")
        found = root.get(m.EXPORT_MUNICIPALITY_ATTR)
        if self.municipality is not None and found != self.municipality:
            raise DocumentError(f"the export is of municipality {found}, not {self.municipality}")

    def _foreign(self, item: Foreign) -> ExportItem:
        where = f"line {item.line}" if item.line else "somewhere"
        return ExportItem(
            f"{self._where}{item.name}@line-{item.line}",
            {"_xml": item.xml},
            (item.name, f"<{item.name}> ({where}) is none of the export's records"),
            foreign=True,
        )


class ExportMismatch(DocumentError):
    """The document is not the export it was asked for (its ``exportId`` differs)."""


def read_export(
    chunks: Iterable[bytes], element: str, *, municipality: str | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, fields) of each valid ``element`` record of an export (:class:`ExportReader`);
    a record that is not valid raises :class:`hub.xmlsafe.XmlSyntaxError` naming it."""
    for item in ExportReader(chunks, element, municipality=municipality):
        if item.problem is not None:
            raise XmlSyntaxError(f"record {item.record_id}, {item.problem[0]}: {item.problem[1]}")
        yield item.record_id, item.fields


# --- import ---------------------------------------------------------------------------------


def import_document(municipality: str, items: Iterable[ImportItem]) -> bytes:
    """An ``<import>`` document of delivery items."""
    return etree.tostring(_import_root(municipality, items), xml_declaration=True, encoding="UTF-8")


def _import_root(municipality: str, items: Iterable[ImportItem]) -> etree._Element:
    ns = m.IMPORT_NS
    root = etree.Element(
        qname(ns, m.IMPORT_ROOT), {m.IMPORT_MUNICIPALITY_ATTR: municipality}, nsmap={None: ns}
    )
    for item in items:
        attrs = {m.KEY_ATTR: item.key}
        if item.record_id:
            attrs[m.RECORD_ID_ATTR] = item.record_id
        elem = etree.SubElement(root, qname(ns, item.element), attrs)
        for name, text in _children(item.element, item.fields):
            etree.SubElement(elem, qname(ns, name)).text = text
    return root


@functools.cache
def _item_schema() -> etree.XMLSchema:
    """import.xsd for checking single items (an instance of its own: a validator keeps its
    error log, so it is used under :data:`_checking` only)."""
    return load_schema(m.IMPORT_XSD)


_checking = threading.Lock()
#: text an XML 1.0 document can hold
_XML_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def _import_text(municipality: str, items: Iterable[ImportItem]) -> bytes:
    """An ``<import>`` document written as text (names from :mod:`.mapping`, values escaped
    by the standard library): a third faster than building it element by element, and
    :func:`valid_import` parses it back against the schema before it is sent."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{m.IMPORT_ROOT} xmlns={quoteattr(m.IMPORT_NS)} '
        f"{m.IMPORT_MUNICIPALITY_ATTR}={quoteattr(municipality)}>"
    ]
    for item in items:
        record_id = f" {m.RECORD_ID_ATTR}={quoteattr(item.record_id)}" if item.record_id else ""
        parts.append(f"<{item.element} {m.KEY_ATTR}={quoteattr(item.key)}{record_id}>")
        for name, text in _children(item.element, item.fields):
            parts.append(f"<{name}>{escape(text)}</{name}>")
        parts.append(f"</{item.element}>")
    parts.append(f"</{m.IMPORT_ROOT}>")
    return "".join(parts).encode()


@functools.cache
def _validating_parser() -> etree.XMLParser:
    return make_parser(_item_schema())


def valid_import(municipality: str, items: list[ImportItem]) -> bytes | None:
    """The ``<import>`` document of ``items`` if it is valid against import.xsd, else None:
    one validation of the whole batch, the common case (:func:`item_problem` then finds
    which items are not)."""
    document = _import_text(municipality, items)
    with _checking:
        try:
            etree.fromstring(document, _validating_parser())
        except etree.XMLSyntaxError:  # not valid (or a value XML cannot hold)
            return None
    return document


def item_problem(municipality: str, item: ImportItem) -> tuple[str, str] | None:
    """(native field, what is wrong) when ``item`` alone is not valid against import.xsd,
    else None. Checked before sending, so that one bad record does not make the case system
    refuse the whole document. The description never quotes the record's values."""
    try:
        root = _import_root(municipality, [item])
    except ValueError:  # lxml: a control character or the like in a value
        for name, text in _children(item.element, item.fields):
            if not _XML_TEXT.fullmatch(text):
                return name, "contains characters an XML document cannot hold"
        return item.element, "contains characters an XML document cannot hold"
    schema = _item_schema()
    with _checking:
        if schema.validate(root):
            return None
        message = schema.error_log[0].message if schema.error_log else "not valid"
    values = {
        str(v)
        for value in item.fields.values()
        for v in (value if isinstance(value, list) else [value])
    }
    name, text = describe_invalid(message, values, item.element)
    return name, redact(text)


def read_import(body: bytes) -> tuple[str, list[ImportItem]]:
    """(municipality, items) of an ``<import>`` document valid against import.xsd."""
    root = parse_bytes(body, schema=import_schema())
    if etree.QName(root).localname != m.IMPORT_ROOT:
        raise DocumentError(f"expected <{m.IMPORT_ROOT}>, got <{etree.QName(root).localname}>")
    items = [
        ImportItem(
            etree.QName(e).localname, e.get(m.KEY_ATTR), e.get(m.RECORD_ID_ATTR), record_fields(e)
        )
        for e in root
    ]
    return root.get(m.IMPORT_MUNICIPALITY_ATTR), items


def response_document(results: Iterable[ImportResult]) -> bytes:
    """An ``<importResponse>`` with one result per item."""
    ns = m.IMPORT_NS
    root = etree.Element(qname(ns, m.RESPONSE_ROOT), nsmap={None: ns})
    for r in results:
        attrs = {m.KEY_ATTR: r.key, m.RESULT_STATUS_ATTR: r.status}
        if r.record_id:
            attrs[m.RECORD_ID_ATTR] = r.record_id
        etree.SubElement(root, qname(ns, m.RESULT), attrs).text = r.reason or None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def read_response(body: bytes) -> list[ImportResult]:
    root = parse_bytes(body, schema=import_schema())
    if etree.QName(root).localname != m.RESPONSE_ROOT:
        raise DocumentError(f"expected <{m.RESPONSE_ROOT}>, got <{etree.QName(root).localname}>")
    return [
        ImportResult(
            r.get(m.KEY_ATTR), r.get(m.RESULT_STATUS_ATTR), r.get(m.RECORD_ID_ATTR), r.text or ""
        )
        for r in root
    ]
