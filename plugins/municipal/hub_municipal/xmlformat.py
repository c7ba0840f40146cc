"""The case system's XML documents, shared by adapter and sandbox: the record elements'
fields, writing an export (chunk by chunk), and the ``<import>`` document and its
``<importResponse>``. Reading an export as it streams in is :mod:`.export_reader`'s;
checking an import before it is sent, :mod:`.import_check`'s.

Every parse goes through :mod:`hub.xmlsafe`; documents are built with lxml's element API
(small import documents) or its incremental writer (exports, which may be large).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from lxml import etree

from hub.xmlsafe import load_schema, parse_bytes
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
def _repeated(tag: str) -> frozenset[str]:
    """The repeated children of the record element ``tag`` (qualified)."""
    return frozenset(m.BY_ELEMENT[etree.QName(tag).localname].repeated())


def localname(tag: str) -> str:
    """The name of a qualified tag without its namespace. A record's few tags repeat in
    every record: remembered (an ``etree.QName`` costs ~0.7 µs, a record has ~20 children),
    up to a bound, and a tag longer than any of the schema's is worked out each time, so
    that hostile input (any tag of a record that is not valid) cannot fill the memory."""
    if len(tag) > _CACHED_TAG:
        return etree.QName(tag).localname
    return _localname(tag)


_CACHED_TAG = 200


@functools.lru_cache(maxsize=1024)
def _localname(tag: str) -> str:
    return etree.QName(tag).localname


def record_fields(elem: etree._Element) -> dict[str, Any]:
    """The children of a record element valid against its schema as a JSON-able dict;
    repeated ones as lists (a valid record's children hold text only)."""
    repeated = _repeated(elem.tag)
    out: dict[str, Any] = {name: [] for name in repeated}
    for child in elem:
        name = localname(child.tag)
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
        name = localname(child.tag)
        text = "".join(child.itertext())
        if name in repeated:
            out[name].append(text)
        elif name in out:  # given twice, where the schema allows it once: all kept
            kept = out[name]
            out[name] = [*kept, text] if isinstance(kept, list) else [kept, text]
        else:
            out[name] = text
    return out


def record_children(element: str, fields: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
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
                    for name, text in record_children(element, fields):
                        with xf.element(qname(ns, name)):
                            xf.write(text)
                xf.write("\n")
                if buf.tell() >= chunk_size:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
    yield buf.getvalue() + b"\n"


# --- import ---------------------------------------------------------------------------------


def import_document(municipality: str, items: Iterable[ImportItem]) -> bytes:
    """An ``<import>`` document of delivery items."""
    return etree.tostring(import_root(municipality, items), xml_declaration=True, encoding="UTF-8")


def import_root(municipality: str, items: Iterable[ImportItem]) -> etree._Element:
    """The ``<import>`` element of delivery items, for a document or to check items."""
    ns = m.IMPORT_NS
    root = etree.Element(
        qname(ns, m.IMPORT_ROOT), {m.IMPORT_MUNICIPALITY_ATTR: municipality}, nsmap={None: ns}
    )
    for item in items:
        attrs = {m.KEY_ATTR: item.key}
        if item.record_id:
            attrs[m.RECORD_ID_ATTR] = item.record_id
        elem = etree.SubElement(root, qname(ns, item.element), attrs)
        for name, text in record_children(item.element, item.fields):
            etree.SubElement(elem, qname(ns, name)).text = text
    return root


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
