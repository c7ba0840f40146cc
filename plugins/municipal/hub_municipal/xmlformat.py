"""Building and reading the case system's XML documents (shared by adapter and sandbox).
Parsing goes through :mod:`hub.xmlsafe` only."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lxml import etree

from hub.xmlsafe import load_schema, parse_bytes
from hub_municipal.mapping import NAMESPACE, RECORD_TYPES, STREAM_OF_ELEMENT, XSD


def q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


@functools.cache
def schema() -> etree.XMLSchema:
    return load_schema(XSD)


def record_element(element: str, fields: Mapping[str, Any], **attrs: str) -> etree._Element:
    """One record element with its children in the XSD's order."""
    rt = RECORD_TYPES[STREAM_OF_ELEMENT[element]]
    elem = etree.Element(q(element), {k: v for k, v in attrs.items() if v}, nsmap={None: NAMESPACE})
    for f in rt.fields:
        value = fields.get(f.native)
        if value is None:
            continue
        for item in value if f.repeated else [value]:
            etree.SubElement(elem, q(f.native)).text = str(item)
    return elem


def record_fields(elem: etree._Element) -> dict[str, Any]:
    """The children of a record element as a JSON-able dict (repeated ones as lists)."""
    rt = RECORD_TYPES[STREAM_OF_ELEMENT[etree.QName(elem).localname]]
    repeated = {f.native for f in rt.fields if f.repeated}
    out: dict[str, Any] = {name: [] for name in repeated}
    for child in elem:
        name = etree.QName(child).localname
        if name in repeated:
            out[name].append(child.text or "")
        else:
            out[name] = child.text or ""
    return out


def export_chunks(
    export_id: str,
    municipality: str,
    generated: str,
    records: Iterable[tuple[str, str, Mapping[str, Any]]],
    *,
    per_chunk: int = 200,
) -> Iterator[bytes]:
    """An export document, streamed: records are (element, id, fields)."""
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<export xmlns="{NAMESPACE}" '
        f'exportId="{export_id}" municipality="{municipality}" generated="{generated}">\n'
    ).encode()
    buf: list[bytes] = []
    for element, record_id, fields in records:
        buf.append(etree.tostring(record_element(element, fields, id=record_id)) + b"\n")
        if len(buf) >= per_chunk:
            yield b"".join(buf).replace(f' xmlns="{NAMESPACE}"'.encode(), b"")
            buf = []
    if buf:
        yield b"".join(buf).replace(f' xmlns="{NAMESPACE}"'.encode(), b"")
    yield b"</export>\n"


def import_document(items: Iterable[tuple[str, str, str | None, Mapping[str, Any]]]) -> bytes:
    """An import document from (element, idempotency key, known id, fields)."""
    root = etree.Element(q("import"), nsmap={None: NAMESPACE})
    for element, key, record_id, fields in items:
        root.append(record_element(element, fields, key=key, id=record_id or ""))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def read_import(body: bytes) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    root = parse_bytes(body, schema=schema())
    return [(etree.QName(e).localname, e.get("key"), e.get("id"), record_fields(e)) for e in root]


def result_document(results: Iterable[tuple[str, str, str | None, str]]) -> bytes:
    """(key, status, id, reason) → an importResult document."""
    root = etree.Element(q("importResult"), nsmap={None: NAMESPACE})
    for key, status, record_id, reason in results:
        attrs = {"key": key, "status": status}
        if record_id:
            attrs["id"] = record_id
        etree.SubElement(root, q("result"), attrs).text = reason or None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def read_results(body: bytes) -> list[tuple[str, str, str | None, str]]:
    root = parse_bytes(body, schema=schema())
    return [(r.get("key"), r.get("status"), r.get("id"), r.text or "") for r in root]
