"""Adapter of Kela's municipal services over X-Road SOAP 4.0: the connection.

Every request carries the X-Road header, validated against the official schemas before it
is sent; every response must echo it (and the hash of the request). SOAP faults ``Server.*``
are transient, ``Client.*`` permanent. Every invented name is in :mod:`.mapping`.

The adapter is the connection (its options, the HTTP client, the envelope and its echo, the
months list) and its streams, each in a module of its own:

- ``attendance`` (:mod:`.attendance`): the attendance report for the expense allowance,
  written;
- ``labour_policy_statements`` (:mod:`.statements`): the employment authority's
  labour-policy statements, written;
- ``billing_lines`` (:mod:`.billing_lines`): the monthly municipal bill, streamed month by
  month in flat memory and judged line by line (:mod:`.billing`);
- ``benefit_days`` and ``notifications`` (:mod:`.pages`): paged by sequence number
  (:mod:`hub.paging.sequence`).

Every response body is checked against Kela's contract, ``schemas/kunta.xsd`` of this
package (:mod:`.contract`): the months list and the report's results whole, a page's start
tag and then each of its records on its own, the billing list's start tag and then each line
on its own. A record that breaks the contract is yielded with a
:class:`~hub.adapter.ContractViolation` (a dead letter; the records around it flow).

Only the billing list may be large (:data:`.billing_lines.MAX_DOCUMENT_BYTES`); every other
answer is capped at :data:`MAX_RESPONSE_BYTES`.

Municipalities. An X-Road client asks for its own data: a wellbeing services county for the
notices and benefit days of every municipality it serves, a municipality for its own bill.
So every request but the billing services' names all of the adapter's municipalities
(``kunta`` repeated), and Kela answers for those; a bill is one municipality's, so the months
list and the billing list are asked for once per municipality (:mod:`.billing_lines`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from lxml import etree

from hub import codelists
from hub.adapter import Adapter, CheckResult, RunContext, SystemConfig
from hub.errors import ConfigError, DeliveryError, PermanentError, TransientError
from hub.http import HttpService
from hub.xmlsafe import IncompleteXmlError, UnsafeXmlError, XmlSyntaxError, parse_bytes
from hub_kela import mapping as m
from hub_kela import soap
from hub_kela.attendance import AttendanceStream
from hub_kela.billing_lines import BillingLinesStream
from hub_kela.contract import why_invalid
from hub_kela.pages import BenefitDaysStream, NotificationsStream
from hub_kela.soap import Headers, InvalidHeader, fault_error, k, q
from hub_kela.statements import LabourPolicyStatementsStream

#: every answer but the billing list (the months list, a page of at most a few hundred
#: records, the report's results) is small: a body larger than this is refused, not kept
MAX_RESPONSE_BYTES = 16 * 1024**2
_HEADER = q(m.SOAP_NS, "Header")
_BODY = q(m.SOAP_NS, "Body")
_ENVELOPE = q(m.SOAP_NS, "Envelope")


def classify(response: httpx.Response, body: bytes, where: str) -> DeliveryError | None:
    """A SOAP fault (HTTP 500) as transient (Server.*) or permanent (Client.*)."""
    try:
        found = soap.read_fault(parse_bytes(body))
    except (XmlSyntaxError, UnsafeXmlError):
        return None
    return fault_error(*found, where) if found else None


def municipality_codes(config: SystemConfig) -> tuple[str, ...]:
    """The codes of ``municipality_codes`` (a list) or ``municipality_code`` (one): exactly
    one of the two options, each code three digits and a municipality in force on THL's code
    list (:mod:`hub.codelists`), none twice; a :class:`ConfigError` naming the option
    otherwise."""
    return codelists.municipality_option(
        config,
        m.OPTION_MUNICIPALITIES,
        m.OPTION_MUNICIPALITY,
        "the municipalities the client asks about",
    )


class KelaAdapter(Adapter):
    """Kela over X-Road SOAP 4.0.

    Options: ``xroad_client`` (required, ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``),
    ``municipality_codes`` (a list: the municipalities the client asks about, a county's
    all of its own) or ``municipality_code`` (one; exactly one of the two is required),
    ``user_id`` (X-Road ``userId``, default ``hub``), ``issue`` (X-Road ``issue``,
    optional), ``max_paid_days_per_week`` (default 5).
    """

    system_id = m.SYSTEM
    title = m.TITLE
    streams = (
        AttendanceStream,
        BillingLinesStream,
        BenefitDaysStream,
        NotificationsStream,
        LabourPolicyStatementsStream,
    )
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [m.OPTION_CLIENT],
        "properties": {
            m.OPTION_CLIENT: {
                "type": "string",
                "pattern": m.CLIENT_ID_PATTERN.pattern,
                "description": "the hub's X-Road client as INSTANCE/CLASS/MEMBER/SUBSYSTEM",
            },
            m.OPTION_MUNICIPALITIES: {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9]{3}$"},
                "minItems": 1,
                "uniqueItems": True,
            },
            m.OPTION_MUNICIPALITY: {"type": "string", "pattern": "^[0-9]{3}$"},
            m.OPTION_USER: {"type": "string", "minLength": 1},
            m.OPTION_ISSUE: {"type": "string"},
            m.OPTION_MAX_DAYS: {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "oneOf": [{"required": [m.OPTION_MUNICIPALITIES]}, {"required": [m.OPTION_MUNICIPALITY]}],
        "description": f"give exactly one of {m.OPTION_MUNICIPALITIES} (three-digit codes) "
        f"and {m.OPTION_MUNICIPALITY} (one)",
    }

    def __init__(self, config: SystemConfig, context: RunContext | None = None):
        super().__init__(config, context)
        client = config.options.get(m.OPTION_CLIENT)
        if not isinstance(client, str) or not m.CLIENT_ID_PATTERN.match(client):
            raise ConfigError(
                f"systems.{config.system}.options.{m.OPTION_CLIENT}: required, the hub's X-Road "
                "client as INSTANCE/CLASS/MEMBER/SUBSYSTEM"
            )
        self.client = tuple(client.split("/"))
        #: the municipalities asked about; the first is the one of a single-municipality form
        self.municipalities = municipality_codes(config)
        self.municipality = self.municipalities[0]
        self.user = str(config.options.get(m.OPTION_USER) or m.DEFAULT_USER)
        issue = config.options.get(m.OPTION_ISSUE)
        self.issue = None if issue is None else str(issue)
        self.max_days = int(config.options.get(m.OPTION_MAX_DAYS, m.MAX_PAID_DAYS_PER_WEEK))
        # every answer is capped small; only the streamed billing list may be large
        self.http = HttpService(
            config,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            classify_error=classify,
            max_bytes=MAX_RESPONSE_BYTES,
        )

    def close(self) -> None:
        self.http.close()

    # --- messages -------------------------------------------------------------------------

    def headers(self, service: str) -> Headers:
        """The X-Road header of a new request to ``service``: a fresh message id."""
        return Headers(
            client=self.client,
            service=(
                self.client[0],
                m.SERVICE_CLASS,
                m.SERVICE_MEMBER,
                m.SERVICE_SUBSYSTEM,
                service,
                m.SERVICE_VERSION,
            ),
            id=str(uuid.uuid4()),
            user_id=self.user,
            issue=self.issue,
        )

    def message(self, service: str, body: etree._Element) -> tuple[Headers, bytes]:
        """(the header sent, the request) of ``body`` to ``service``; a header that is not
        valid against the X-Road schemas is a :class:`PermanentError`, before sending."""
        headers = self.headers(service)
        try:
            return headers, soap.envelope(headers, body)
        except InvalidHeader as exc:
            raise PermanentError(f"{m.SYSTEM}/{service}: X-Road header invalid: {exc}") from None

    def request_body(
        self, service: str, *, municipalities: Sequence[str] | None = None, **children: Any
    ) -> etree._Element:
        """The body request of ``service``: the ``municipalities`` it is about (default: all
        of the adapter's), then ``children`` in order."""
        body = etree.Element(k(f"{service}Request"))
        for code in self.municipalities if municipalities is None else municipalities:
            etree.SubElement(body, k(m.MUNICIPALITY)).text = code
        for key, value in children.items():
            etree.SubElement(body, k(key)).text = str(value)
        return body

    def check_echo(self, sent: Headers, message: bytes, header: etree._Element, where: str) -> None:
        """The response must echo the request's X-Road header and the hash of the request."""
        try:
            soap.validate_header(list(header.iterchildren(f"{{{m.XROAD_NS}}}*")))
            got = soap.read_headers(header)
        except InvalidHeader as exc:
            raise PermanentError(f"{where}: the response's X-Road header: {exc}") from None
        for name, a, b in (
            ("client", sent.client, got.client),
            ("service", sent.service, got.service),
            ("id", sent.id, got.id),
            ("userId", sent.user_id, got.user_id),
            ("issue", sent.issue, got.issue),
            ("protocolVersion", sent.protocol_version, got.protocol_version),
        ):
            if a != b:
                raise PermanentError(f"{where}: the response does not echo the request's <{name}>")
        digest = header.find(q(m.XROAD_NS, "requestHash"))
        if digest is not None and (digest.text or "") != soap.request_hash(message):
            raise PermanentError(f"{where}: the response's requestHash is not the request's")

    def call(self, service: str, body: etree._Element) -> etree._Element:
        """One request/response; the response's one body element, ``{service}Response``
        (not yet validated against the body schema)."""
        where = f"{m.SYSTEM}/{service}"
        sent, message = self.message(service, body)
        _, data = self.http.request("POST", m.ENDPOINT, content=message)
        try:
            root = parse_bytes(data, max_bytes=MAX_RESPONSE_BYTES)
        except IncompleteXmlError as exc:
            raise TransientError(
                f"{where}: the response ends before it is complete: {exc}"
            ) from None
        except (XmlSyntaxError, UnsafeXmlError) as exc:
            raise PermanentError(f"{where}: the response is not valid XML: {exc}") from None
        if found := soap.read_fault(root):
            raise fault_error(*found, where)
        header = root.find(_HEADER)
        if root.tag != _ENVELOPE or header is None:
            raise PermanentError(f"{where}: the response has no X-Road header")
        self.check_echo(sent, message, header, where)
        body_elem = root.find(_BODY)
        answers = [] if body_elem is None else [c for c in body_elem if isinstance(c.tag, str)]
        if len(answers) != 1 or answers[0].tag != k(f"{service}Response"):
            raise PermanentError(f"{where}: the response's body is not one <{service}Response>")
        return answers[0]

    # --- the connection -----------------------------------------------------------------------

    def check(self) -> CheckResult:
        try:
            months = self.months()
        except (DeliveryError, httpx.HTTPError) as exc:
            return CheckResult(False, str(exc))
        return CheckResult(
            True, f"{m.PROVIDER} answers over X-Road; billing lists for {len(months)} months"
        )

    def months(self, municipality: str | None = None) -> list[tuple[str, int]]:
        """(month, lines) of the billing lists of ``municipality`` (default: the first)
        available, oldest first. The list is validated whole: one that breaks the contract
        is a permanent error."""
        asked = [municipality or self.municipality]
        answer = self.call(m.SVC_MONTHS, self.request_body(m.SVC_MONTHS, municipalities=asked))
        if why := why_invalid(answer):
            raise PermanentError(
                f"{m.SYSTEM}/{m.SVC_MONTHS}: the months list is not valid against "
                f"{m.PROVIDER}'s schema: {why}"
            )
        found = [
            (elem.text or "", int(elem.get(m.ROWS_ATTR) or 0))
            for elem in answer
            if isinstance(elem.tag, str)
        ]
        return sorted(found)
