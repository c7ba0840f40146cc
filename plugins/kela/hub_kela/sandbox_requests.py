"""What the sandbox's security server and services check about a request.

The envelope parses safely; the X-Road header elements are valid against the official
schemas (``client`` a SUBSYSTEM with a well-formed identifier; ``service`` a SERVICE of the
same instance, Kela's and one of :data:`.mapping.SERVICES`; a non-empty ``id``;
``protocolVersion`` 4.0), else a ``Client.*`` fault; the body request is valid against
Kela's body schema, else a ``Client.BadRequest`` fault naming the element. The items of an
attendance report and the labour-policy statements are judged one by one
(:func:`item_problem`, :func:`report_problem`, :func:`statement_problem`).
"""

from __future__ import annotations

import datetime as dt
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from lxml import etree
from starlette.responses import Response
from stdnum.fi import hetu as stdnum_hetu

from hub.model import iso_week_of
from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_bytes
from hub_kela import mapping as m
from hub_kela import soap
from hub_kela.contract import why_invalid
from hub_kela.soap import InvalidHeader, k, q

XML = "text/xml; charset=utf-8"
MAX_REQUEST_BYTES = 8 * 1024 * 1024


class Fault(Exception):
    """A request refused with a SOAP fault ``code``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> Response:
        return Response(soap.fault(self.code, self.message), 500, media_type=XML)


@dataclass(frozen=True)
class Request:
    """A request that passed the security server: its header, its body request, the
    service code and the municipalities it is about (one for the billing services)."""

    header: etree._Element
    body: etree._Element
    service: str
    municipalities: tuple[str, ...]

    @property
    def municipality(self) -> str:
        """The first municipality asked about (the only one of a billing request)."""
        return self.municipalities[0]


def parse_request(message: bytes) -> Request:
    """The request of ``message``, checked (see the module); raises :class:`Fault`."""
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
    codes = tuple(e.text or "" for e in body.iterchildren(k(m.MUNICIPALITY)))
    if not codes or not all(len(c) == 3 and c.isdigit() for c in codes):
        raise Fault(m.FAULT_BAD_REQUEST, f"{m.MUNICIPALITY} is required")
    if len(set(codes)) != len(codes):
        raise Fault(m.FAULT_BAD_REQUEST, f"a {m.MUNICIPALITY} is asked about twice")
    return Request(header, body, h.service[4], codes)


def number(body: etree._Element, name: str, default: int) -> int:
    """The number the request's child ``name`` gives (``default`` without it)."""
    text = body.findtext(k(name))
    if text is None:
        return default
    if not text.isdigit():
        raise Fault(m.FAULT_BAD_REQUEST, f"{name} must be a number")
    return int(text)


#: the services that take items, each judged on its own: service -> the items' element
ITEMS = {m.SVC_ATTENDANCE: m.REPORT, m.SVC_STATEMENTS: m.STATEMENT}
#: the fields of an item in order, by its element: a missing one is named
ITEM_FIELDS = {
    m.REPORT: (*m.REPORT_FIELDS.values(), m.REPORT_MONTH),
    m.STATEMENT: tuple(m.STATEMENT_FIELDS.values()),
}


def request_problem(body: etree._Element) -> str | None:
    """Why a body request is not valid against Kela's schema (None: it is). The items of
    an attendance report or of statements are left out: each is judged on its own
    (:func:`item_problem`)."""
    item = next((k(e) for s, e in ITEMS.items() if body.tag == k(f"{s}Request")), None)
    if item is None:
        return why_invalid(body)
    head = etree.Element(body.tag, dict(body.attrib), nsmap=body.nsmap)
    for child in body:
        if child.tag != item:
            head.append(deepcopy(child))
    return why_invalid(head)


def item_problem(body: etree._Element, item: etree._Element) -> str | None:
    """Why one item of a request (an attendance-report item, a statement) is not valid
    against Kela's schema: it is validated in a copy of the request that holds it alone
    (the report item is declared only inside its request: the global ``ilmoitus`` is
    Kela's notice)."""
    alone = etree.Element(body.tag, nsmap=body.nsmap)
    for child in body:
        if child.tag != item.tag:
            alone.append(deepcopy(child))
    alone.append(deepcopy(item))
    why = why_invalid(alone, order=ITEM_FIELDS.get(etree.QName(item).localname, ()))
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


def statement_problem(statement: dict[str, Any]) -> str | None:
    """Why a labour-policy statement valid against the schema is refused, or None: the
    identity code, the period and the ground it needs. Never quotes a value."""
    if not stdnum_hetu.is_valid(str(statement.get("hetu") or ""), allow_temporary=True):
        return "hetu is not a valid identity code"
    start, end = statement.get("voimassaAlkaen"), statement.get("voimassaAsti")
    if end is not None and dt.date.fromisoformat(end[:10]) < dt.date.fromisoformat(start[:10]):
        return "voimassaAsti is before voimassaAlkaen"
    stance = statement.get("kanta")
    if stance == "KORVAUKSETON-MAARAAIKA" and end is None:
        return "voimassaAsti is required for a period without benefit (KORVAUKSETON-MAARAAIKA)"
    if stance != "EI-ESTETTA" and not statement.get("perustelu"):
        return "perustelu is required unless kanta is EI-ESTETTA"
    return None
