"""Sandbox of Kela's municipal services: an X-Road security server in front of them.

One SOAP endpoint (``POST /``). Every request passes what a security server and the service
would check: the envelope parses safely; the X-Road header elements are valid against the
official schemas (``client`` present, a SUBSYSTEM with a well-formed identifier; ``service`` a
SERVICE of the same instance, Kela's and one of :data:`.mapping.SERVICES`; a non-empty ``id``;
``protocolVersion`` 4.0), else a ``Client.*`` SOAP fault (HTTP 500); the body request is
valid against Kela's body schema (``schemas/kunta.xsd`` of this package), else a
``Client.BadRequest`` fault naming the element (an attendance-report item that is not valid
is rejected alone, with the reason, while the other items of the report are judged).
The response echoes the request's header and adds ``requestHash`` (SHA-512 of the request).
Every response the sandbox writes is valid against the same schema.

Services: the billing months; one month's billing list from line ``alkaen`` on, streamed as
it is generated (a million lines never sit in memory; the share steps are configurable);
benefit-day counts and eTotu notices paged by sequence number (``alkaen``, ``enintaan``;
the answer says ``lisaa`` and ``seuraava``); the attendance report, deduplicated by item
key (an accepted key answers ``kaksoiskappale`` and stores nothing; a rejected key is judged
afresh, so that a fixed record can be replayed), refusing more than five attended days in an
ISO week.

Recorded billing lists: with ``billing_dir`` the sandbox also offers, after its generated
months, every ``<YYYY-MM>.xml`` of that folder: the month's lines as written by
:func:`write_billing_list`, one ``<rivi>`` a text line, streamed as they are (so that a list
of a million lines costs the sandbox nothing but reading a file; ``malformed_every`` does not
change them, the other faults apply). A recorded file is served byte for byte, so a test
can hand-edit one to break Kela's contract: a text line is line ``n`` of the list whatever
it holds (put an element the list does not have on the same text line as a ``<rivi>``). The
months list declares as many lines as the file has text lines, or the number in
``<YYYY-MM>.rivit`` beside it (a list recorded short of what Kela declares). A file whose
last text line does not end with a newline was cut short: its response ends there too, in
the middle of the document, like a transfer that broke off.

Faults (:class:`hub.sandbox.FaultState`): 429/503 with ``Retry-After``, slow responses;
``malformed_every`` breaks every n-th record served (a share that does not match the amounts,
an identity code with a wrong check character); ``reject_writes`` refuses every report item.
``/_sandbox/received`` lists the accepted report items, one per key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import math
import threading
from collections.abc import Iterable, Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from stdnum.fi import hetu as stdnum_hetu

from hub.model import iso_week_of
from hub.sandbox import FaultState, control_routes
from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_bytes
from hub_kela import data, soap
from hub_kela import mapping as m
from hub_kela.adapter import report_from_element
from hub_kela.contract import why_invalid
from hub_kela.soap import InvalidHeader, k, q

XML = "text/xml; charset=utf-8"
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_PAGE = 500


class Fault(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def fault_response(code: str, message: str) -> Response:
    return Response(soap.fault(code, message), 500, media_type=XML)


def _corrupt_hetu(code: str) -> str:
    return code[:-1] + ("A" if code[-1] != "A" else "B")


def request_problem(body: etree._Element) -> str | None:
    """Why a body request is not valid against Kela's schema (None: it is). The items of
    an attendance report are left out: each is judged on its own (:func:`item_problem`)."""
    if body.tag != k(f"{m.SVC_ATTENDANCE}Request"):
        return why_invalid(body)
    head = etree.Element(body.tag, dict(body.attrib), nsmap=body.nsmap)
    for child in body:
        if child.tag != k(m.REPORT):
            head.append(deepcopy(child))
    return why_invalid(head)


def item_problem(body: etree._Element, item: etree._Element) -> str | None:
    """Why one attendance-report item is not valid against Kela's schema: the item is
    declared only inside its request (the global ``ilmoitus`` is Kela's notice), so it is
    validated in a copy of the request that holds it alone."""
    alone = etree.Element(body.tag, nsmap=body.nsmap)
    for child in body:
        if child.tag != k(m.REPORT):
            alone.append(deepcopy(child))
    alone.append(deepcopy(item))
    why = why_invalid(alone)
    return None if why is None else f"not valid against {m.PROVIDER}'s schema: {why}"


def report_problem(report: dict[str, Any], max_days: int = m.MAX_PAID_DAYS_PER_WEEK) -> str | None:
    """Why an attendance report item is refused, or None. Never quotes a value."""
    if not stdnum_hetu.is_valid(str(report.get("hetu") or ""), allow_temporary=True):
        return "hetu is not a valid identity code"
    if report.get("palvelu") not in m.SERVICE_CODES:
        return "palvelu is not a service Kela knows"
    try:
        days = [dt.date.fromisoformat(d) for ds in report[m.REPORT_MONTH].values() for d in ds]
        dt.date.fromisoformat(str(report.get("jaksonAlku")))
    except (TypeError, ValueError, AttributeError):
        return "a date is not an ISO date"
    if not days:
        return "no attended days"
    for month, ds in report[m.REPORT_MONTH].items():
        if any(not d.startswith(month) for d in ds):
            return f"a day is not in month {month}"
    weeks: dict[str, int] = {}
    for day in days:
        weeks[iso_week_of(day)] = weeks.get(iso_week_of(day), 0) + 1
    if report.get("viikko") not in weeks or len(weeks) != 1:
        return "the days are not all in the week reported"
    if max(weeks.values()) > max_days:
        return f"more than {max_days} attended days in a week: the allowance is paid for {max_days}"
    return None


class KelaState:
    def __init__(self, seed: int, size: int):
        self.seed, self.size = seed, size
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.results: dict[str, tuple[str, str]] = {}  # key -> (state, reason)
            self.accepted: dict[str, dict[str, Any]] = {}

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{"idempotency_key": key, **r} for key, r in self.accepted.items()]

    def report(
        self, key: str, item: dict[str, Any], reject_all: bool, invalid: str | None = None
    ) -> tuple[str, str]:
        """Judge one report item (``invalid``: why it breaks the schema, if it does)."""
        with self.lock:
            if key in self.results and self.results[key][0] == m.ACCEPTED:
                return m.DUPLICATE, ""
            problem = "refused (reject_writes fault)" if reject_all else None
            problem = problem or invalid or report_problem(item)
            result = (m.REJECTED, problem) if problem else (m.ACCEPTED, "")
            self.results[key] = result
            if not problem:
                self.accepted[key] = item
            return result


def _answer(request_header: etree._Element, message: bytes) -> etree._Element:
    """The response header: the request's X-Road elements echoed, plus requestHash."""
    header = etree.Element(q(m.SOAP_NS, "Header"))
    for elem in request_header.iterchildren(f"{{{m.XROAD_NS}}}*"):
        header.append(etree.fromstring(etree.tostring(elem)))
    digest = etree.SubElement(
        header, q(m.XROAD_NS, "requestHash"), {"algorithmId": m.HASH_ALGORITHM}
    )
    digest.text = soap.request_hash(message)
    return header


def _envelope_chunks(
    header: etree._Element,
    response: str,
    rows: Iterator[etree._Element],
    wrapper: tuple[str, dict[str, str]] | None = None,
    attrs: dict[str, str] | None = None,
) -> Iterator[bytes]:
    """A response envelope written incrementally, one chunk of 64 KiB at a time."""
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
                            if buf.tell() >= 64 * 1024:
                                yield buf.getvalue()
                                buf.seek(0)
                                buf.truncate()
    yield buf.getvalue()


_ROWS_MARK = b"<!--rows-->"


def _envelope_around(
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
                xf.write(_element(m.LINE, line["nro"], line, m.LINE_FIELDS.values()))
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


def _recorded_lines(path: Path, start: int) -> Iterator[bytes]:
    """The rows of a recorded list from line ``start`` on, in blocks of about 64 KiB."""
    block: list[bytes] = []
    size = 0
    with path.open("rb") as fh:
        for number, row in enumerate(fh, 1):
            if number < start:
                continue
            block.append(row)
            size += len(row)
            if size >= 64 * 1024:
                yield b"".join(block)
                block, size = [], 0
    if block:
        yield b"".join(block)


def _element(name: str, number: int, fields: dict[str, Any], order) -> etree._Element:
    elem = etree.Element(k(name), {"nro": str(number)})
    for native in order:
        if fields.get(native) is not None:
            etree.SubElement(elem, k(native)).text = str(fields[native])
    return elem


def create_app(
    seed: int = 1,
    size: int = 50,
    share_steps: Any = None,
    billing_dir: str | Path | None = None,
) -> Starlette:
    """The sandbox app for ``size`` synthetic people of ``seed``. ``share_steps`` replaces
    the municipal share steps the billing list is computed with (:data:`.data.SHARE_STEPS`),
    as ``[(first_day, percent), ...]`` or ``[{"from_day": ..., "percent": ...}, ...]``;
    ``billing_dir`` adds the recorded billing lists of that folder."""
    state = KelaState(seed, size)
    faults = FaultState()
    steps = data.SHARE_STEPS if share_steps is None else data.parse_steps(share_steps)
    counts: dict[str, int] = {}  # lines per generated month, computed once
    recorded_counts: dict[tuple, int] = {}  # lines per recorded list, by its file's state
    folder = Path(billing_dir) if billing_dir is not None else None

    def recorded() -> dict[str, Path]:
        if folder is None:
            return {}
        found = {p.stem: p for p in sorted(folder.glob("*.xml"))}
        return {month: p for month, p in found.items() if month not in data.MONTHS}

    def line_count(month: str) -> int:
        path = recorded().get(month)
        if path is not None:  # counted again whenever the file (or its .rivit) changes
            sidecar = path.with_suffix(".rivit")
            stat = path.stat()
            key = (path, stat.st_mtime_ns, stat.st_size, sidecar.exists() and sidecar.read_text())
            if key not in recorded_counts:
                recorded_counts[key] = declared_lines(path)
            return recorded_counts[key]
        if month not in counts:
            counts[month] = data.line_count(size, month, steps)
        return counts[month]

    def parse(message: bytes) -> tuple[etree._Element, etree._Element, str, etree._Element]:
        """(header, body request, service code, root) of a valid request; raises Fault."""
        if len(message) > MAX_REQUEST_BYTES:
            raise Fault(m.FAULT_BAD_REQUEST, "the request is too large")
        try:
            root = parse_bytes(message)
        except (XmlSyntaxError, UnsafeXmlError) as exc:
            raise Fault(m.FAULT_BAD_REQUEST, f"not a SOAP message: {exc}") from None
        header = root.find(q(m.SOAP_NS, "Header"))
        body = root.find(f"{q(m.SOAP_NS, 'Body')}/*")
        if root.tag != q(m.SOAP_NS, "Envelope") or header is None or body is None:
            raise Fault(m.FAULT_BAD_REQUEST, "a SOAP envelope with a header and a body is needed")
        try:
            soap.validate_header(list(header.iterchildren(f"{{{m.XROAD_NS}}}*")))
            h = soap.read_headers(header)
        except InvalidHeader as exc:
            raise Fault(m.FAULT_BAD_HEADER, f"invalid X-Road header: {exc}") from None
        if h.protocol_version != m.PROTOCOL_VERSION:
            raise Fault(m.FAULT_BAD_HEADER, "protocolVersion must be 4.0")
        if not h.id.strip():
            raise Fault(m.FAULT_BAD_HEADER, "the message id is empty")
        if soap.object_type(header, "client") != "SUBSYSTEM" or not m.CLIENT_ID_PATTERN.match(
            "/".join(h.client)
        ):
            raise Fault(
                m.FAULT_BAD_CLIENT,
                "client must be a subsystem: xRoadInstance, memberClass, a business ID as "
                "memberCode and subsystemCode",
            )
        if soap.object_type(header, "service") != "SERVICE" or h.service[0] != h.client[0]:
            raise Fault(m.FAULT_BAD_HEADER, "service must be a SERVICE of the client's instance")
        if h.service[1:4] != (m.SERVICE_CLASS, m.SERVICE_MEMBER, m.SERVICE_SUBSYSTEM):
            raise Fault(m.FAULT_UNKNOWN_SERVICE, "the service is not one of Kela's")
        if h.service[4] not in m.SERVICES or body.tag != k(f"{h.service[4]}Request"):
            raise Fault(m.FAULT_UNKNOWN_SERVICE, f"no such service: {h.service[4]}")
        if h.client[1] != "MUN":
            raise Fault(m.FAULT_BAD_REQUEST, "only municipalities use these services")
        if problem := request_problem(body):
            raise Fault(m.FAULT_BAD_REQUEST, f"the request is not valid: {problem}")
        return header, body, h.service[4], root

    def number(body: etree._Element, name: str, default: int) -> int:
        text = body.findtext(k(name))
        if text is None:
            return default
        if not text.isdigit():
            raise Fault(m.FAULT_BAD_REQUEST, f"{name} must be a number")
        return int(text)

    def months(body) -> Iterator[etree._Element]:
        for month in [*data.MONTHS, *recorded()]:
            elem = etree.Element(k(m.MONTH), {m.ROWS_ATTR: str(line_count(month))})
            elem.text = month
            yield elem

    def billing(body, municipality: str) -> tuple[Iterator[etree._Element], dict[str, str]]:
        month = body.findtext(k(m.MONTH)) or ""
        if month not in data.MONTHS:
            raise Fault(m.FAULT_BAD_REQUEST, "no billing list for that month")

        start = max(1, number(body, m.FROM, 1))

        def rows() -> Iterator[etree._Element]:
            for line in data.lines(seed, size, month, faults.is_malformed, steps, start):
                yield _element(m.LINE, line["nro"], line, m.LINE_FIELDS.values())

        return rows(), listing_attrs(month, municipality)

    def listing_attrs(month: str, municipality: str) -> dict[str, str]:
        return {
            m.MONTH: month,
            m.MUNICIPALITY: municipality,
            m.DUE_ATTR: data.due_date(month).isoformat(),
        }

    def page(body, name: str, count: int, make) -> tuple[list[etree._Element], dict[str, str]]:
        """Items ``alkaen``.. (at most ``enintaan``) and the attributes saying what follows."""
        first = max(1, number(body, m.FROM, 1))
        limit = min(MAX_PAGE, max(1, number(body, m.MAX, 100)))
        numbers = range(first, min(count, first + limit - 1) + 1)
        items = []
        for n in numbers:
            fields = make(n)
            if faults.is_malformed(n - 1):
                fields = {**fields, "hetu": _corrupt_hetu(fields["hetu"])}
            order = m.COUNT_FIELDS.values() if name == m.COUNT else m.NOTICE_FIELDS.values()
            items.append(_element(name, n, fields, order))
        more = numbers.stop <= count
        following = {m.NEXT: str(max(first, numbers.stop))} if more else {}
        return items, {m.MORE: "true" if more else "false", **following}

    async def endpoint(request: Request) -> Response:
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status is not None:
            after = str(max(1, math.ceil(faults.faults.retry_after)))
            return Response("try again later", status, headers={"Retry-After": after})
        message = await request.body()
        try:
            header, body, service, _ = parse(message)
            municipality = body.findtext(k(m.MUNICIPALITY)) or ""
            if not (len(municipality) == 3 and municipality.isdigit()):
                raise Fault(m.FAULT_BAD_REQUEST, f"{m.MUNICIPALITY} is required")
            answer = _answer(header, message)
            response = f"{service}Response"
            if service == m.SVC_BILLING:
                month = body.findtext(k(m.MONTH)) or ""
                path = recorded().get(month)
                if path is not None:
                    attrs = listing_attrs(month, municipality)
                    start = max(1, number(body, m.FROM, 1))
                    rows = _recorded_lines(path, start)
                    chunks = _envelope_around(
                        answer, response, m.BILLING, attrs, rows, cut=cut_short(path)
                    )
                    return StreamingResponse(chunks, media_type=XML)
                rows, attrs = billing(body, municipality)
                chunks = _envelope_chunks(answer, response, rows, wrapper=(m.BILLING, attrs))
                return StreamingResponse(chunks, media_type=XML)
            attrs: dict[str, str] = {}
            if service == m.SVC_MONTHS:
                rows = list(months(body))
            elif service == m.SVC_BENEFIT_DAYS:
                rows, attrs = page(
                    body, m.COUNT, size, lambda n: data.benefit_days(seed, n - 1, municipality)
                )
            elif service == m.SVC_NOTICES:
                rows, attrs = page(
                    body,
                    m.NOTICE,
                    data.notice_count(size),
                    lambda n: data.notice(seed, n, municipality),
                )
            else:  # the attendance report
                rows = []
                for item in body.iter(k(m.REPORT)):
                    key = item.get(m.REPORT_KEY_ATTR)
                    if not key:
                        raise Fault(m.FAULT_BAD_REQUEST, f"an item without {m.REPORT_KEY_ATTR}")
                    result_state, reason = state.report(
                        key,
                        report_from_element(item),
                        faults.faults.reject_writes,
                        item_problem(body, item),
                    )
                    result = etree.Element(
                        k(m.RESULT), {m.REPORT_KEY_ATTR: key, m.RESULT_STATE_ATTR: result_state}
                    )
                    result.text = reason or None
                    rows.append(result)
            body_bytes = b"".join(_envelope_chunks(answer, response, iter(rows), attrs=attrs))
            return Response(body_bytes, media_type=XML)
        except Fault as exc:
            return fault_response(exc.code, exc.message)

    return Starlette(
        routes=[
            Route(m.ENDPOINT, endpoint, methods=["POST"]),
            control_routes(faults, state.reset, state.received),
        ]
    )
