"""The sandbox's responses written: the echoed X-Road header, envelopes written as they are
generated (a billing list of a million lines never sits in memory), and the recorded billing
lists of ``billing_dir`` (one ``<rivi>`` a text line, served byte for byte).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from hub_kela import mapping as m
from hub_kela import soap
from hub_kela.soap import k, q

#: the size of the chunks a streamed response is written in
CHUNK_BYTES = 64 * 1024
_ROWS_MARK = b"<!--rows-->"


def answer_header(request_header: etree._Element, message: bytes) -> etree._Element:
    """The response header: the request's X-Road elements echoed, plus requestHash."""
    header = etree.Element(q(m.SOAP_NS, "Header"))
    for elem in request_header.iterchildren(f"{{{m.XROAD_NS}}}*"):
        header.append(etree.fromstring(etree.tostring(elem)))
    digest = etree.SubElement(
        header, q(m.XROAD_NS, "requestHash"), {"algorithmId": m.HASH_ALGORITHM}
    )
    digest.text = soap.request_hash(message)
    return header


def record_element(name: str, number: int, fields: dict[str, Any], order) -> etree._Element:
    """A numbered record ``<name nro="number">`` with the ``fields`` it has, in ``order``."""
    elem = etree.Element(k(name), {"nro": str(number)})
    for native in order:
        if fields.get(native) is not None:
            etree.SubElement(elem, k(native)).text = str(fields[native])
    return elem


def envelope_chunks(
    header: etree._Element,
    response: str,
    rows: Iterator[etree._Element],
    wrapper: tuple[str, dict[str, str]] | None = None,
    attrs: dict[str, str] | None = None,
) -> Iterator[bytes]:
    """A response envelope written incrementally: ``<response attrs>`` holding ``rows``
    (inside ``wrapper``, written a chunk of :data:`CHUNK_BYTES` at a time, if given)."""
    buf = io.BytesIO()
    with etree.xmlfile(buf, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(q(m.SOAP_NS, "Envelope"), nsmap=soap.NSMAP):
            xf.write(header)
            with xf.element(q(m.SOAP_NS, "Body")), xf.element(k(response), attrs or {}):
                if wrapper is None:
                    for row in rows:
                        xf.write(row)
                else:
                    with xf.element(k(wrapper[0]), wrapper[1]):
                        for row in rows:
                            xf.write(row)
                            if buf.tell() >= CHUNK_BYTES:
                                yield buf.getvalue()
                                buf.seek(0)
                                buf.truncate()
    yield buf.getvalue()


def envelope_around(
    header: etree._Element,
    response: str,
    wrapper: str,
    attrs: dict[str, str],
    rows: Iterable[bytes],
    cut: bool = False,
) -> Iterator[bytes]:
    """A response envelope whose ``wrapper`` element holds ``rows``, already serialised in
    the envelope's namespaces (:func:`recorded_rows`); ``cut``: the document ends after the
    rows (a transfer that broke off)."""
    envelope = etree.Element(q(m.SOAP_NS, "Envelope"), nsmap=soap.NSMAP)
    envelope.append(header)
    body = etree.SubElement(envelope, q(m.SOAP_NS, "Body"))
    listing = etree.SubElement(etree.SubElement(body, k(response)), k(wrapper), attrs)
    listing.append(etree.Comment("rows"))
    head, tail = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8").split(_ROWS_MARK)
    yield head
    yield from rows
    if not cut:
        yield tail


# --- recorded billing lists -------------------------------------------------------------------


def recorded_rows(lines: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Billing lines (as :func:`.data.lines` gives them) as ``<rivi>`` elements in the
    response envelope's namespaces, one a text line."""
    buf = io.BytesIO()
    with etree.xmlfile(buf, encoding="UTF-8") as xf:
        with xf.element(q(m.SOAP_NS, "Envelope"), nsmap=soap.NSMAP):
            xf.flush()
            buf.seek(0)
            buf.truncate()
            for line in lines:
                xf.write(record_element(m.LINE, line["nro"], line, m.LINE_FIELDS.values()))
                xf.flush()
                yield buf.getvalue() + b"\n"
                buf.seek(0)
                buf.truncate()


def write_billing_list(path: Path, lines: Iterable[dict[str, Any]]) -> int:
    """Record a month's billing list for ``billing_dir`` (``<dir>/<YYYY-MM>.xml``); the
    number of lines written."""
    count, tmp = 0, path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        for row in recorded_rows(lines):
            fh.write(row)
            count += 1
    tmp.replace(path)
    return count


def cut_short(path: Path) -> bool:
    """Whether a recorded list was cut short: its last text line does not end the line."""
    with path.open("rb") as fh:
        if fh.seek(0, io.SEEK_END) == 0:
            return False
        fh.seek(-1, io.SEEK_END)
        return fh.read(1) != b"\n"


def declared_lines(path: Path) -> int:
    """The lines the months list declares for a recorded list: the number in
    ``<YYYY-MM>.rivit`` beside it, else its text lines."""
    sidecar = path.with_suffix(".rivit")
    if sidecar.exists():
        return int(sidecar.read_text().strip())
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def recorded_lines(path: Path, start: int) -> Iterator[bytes]:
    """The rows of a recorded list from line ``start`` on, in blocks of about
    :data:`CHUNK_BYTES`."""
    block: list[bytes] = []
    size = 0
    with path.open("rb") as fh:
        for number, row in enumerate(fh, 1):
            if number < start:
                continue
            block.append(row)
            size += len(row)
            if size >= CHUNK_BYTES:
                yield b"".join(block)
                block, size = [], 0
    if block:
        yield b"".join(block)
