"""Adapter of Kela's municipal services over X-Road SOAP 4.0.

Every request carries the X-Road header, validated against the official schemas before it
is sent; every response must echo it (and the hash of the request). SOAP faults ``Server.*``
are transient, ``Client.*`` permanent. The monthly billing list is streamed: a month of a
million lines is parsed element by element in flat memory, and the cursor records how many
lines of a month are committed, so a run resumes mid-month (the service is asked to start
after them, and the line numbers it sends must continue the count). Every invented name is
in :mod:`.mapping`.

Every response body is checked against Kela's contract, ``schemas/kunta.xsd`` of this
package (:mod:`.contract`): the months list and the report's results whole, a page's start
tag and then each of its records on its own, the billing list's start tag and then each line
on its own (:mod:`.billing`). A record that breaks the contract is yielded with a
:class:`~hub.adapter.ContractViolation` (a dead letter; the records around it flow); a
billing list that is not whole (cut short, fewer lines than the months list declares) is a
:class:`~hub.errors.TransientError` and its month is not taken as done.

Only the billing list may be large (:data:`MAX_DOCUMENT_BYTES`); every other answer is
capped at :data:`MAX_RESPONSE_BYTES`.

Cursors: billing lines ``["2026-10", 5000]`` / ``["2026-10", "done"]``; benefit days and
notices: the last sequence number committed.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
from lxml import etree

from hub.adapter import (
    Adapter,
    Batch,
    CheckResult,
    ContractViolation,
    NativeRecord,
    StreamSpec,
    SystemConfig,
    WriteItem,
    WriteOutcome,
)
from hub.errors import (
    ConfigError,
    DeliveryError,
    PermanentError,
    RecordError,
    TransientError,
)
from hub.http import HttpService
from hub.model import (
    Attendance,
    BenefitDays,
    BillingLine,
    CanonicalEntity,
    Notification,
    iso_week_of,
)
from hub.privacy import redact
from hub.xmlsafe import IncompleteXmlError, UnsafeXmlError, XmlSyntaxError, parse_bytes
from hub_kela import mapping as m
from hub_kela import soap
from hub_kela.billing import BillingList
from hub_kela.contract import (
    foreign_record_data,
    foreign_xml,
    local,
    number_of,
    record_data,
    valid_record_data,
    validator,
    violation,
    why_invalid,
)
from hub_kela.soap import Headers, InvalidHeader, fault_error, k, q

DONE = "done"
#: the billing list of a large municipality is big; the parser streams it
MAX_DOCUMENT_BYTES = 4 * 1024**3
#: every other answer (the months list, a page of at most a few hundred records, the
#: report's results) is small: a body larger than this is refused, not kept in memory
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


def _code(table: Mapping[str, str], value: Any, where: str, field: str) -> str:
    if isinstance(value, list):
        raise RecordError(where, field, "is given more than once")
    if value not in table:
        raise RecordError(where, field, "is not one of Kela's codes")
    return table[value]


def _fields(data: Mapping[str, Any], names: Mapping[str, str], where: str) -> dict[str, Any]:
    """The canonical fields of ``names`` that ``data`` holds. A field given more than once
    (a list: how a record that broke the contract is kept) is refused, never narrowed to
    one of its values."""
    out = {}
    for canonical, native in names.items():
        value = data.get(native)
        if isinstance(value, list):
            raise RecordError(where, native, "is given more than once")
        if value not in (None, ""):
            out[canonical] = value
    return out


def line_to_canonical(native_id: str, data: Mapping[str, Any]) -> BillingLine:
    where = f"{m.SYSTEM}/billing_lines/{native_id}"
    values = _fields(data, m.LINE_FIELDS, where)
    values["benefit_type"] = _code(m.BENEFIT_CODES, data.get("etuus"), where, "etuus")
    return BillingLine(
        **values,
        billing_month=data.get(m.MONTH),
        municipality_code=data.get(m.MUNICIPALITY),
        due_date=data.get(m.DUE_ATTR),
    )


def count_to_canonical(native_id: str, data: Mapping[str, Any]) -> BenefitDays:
    where = f"{m.SYSTEM}/benefit_days/{native_id}"
    values = _fields(data, m.COUNT_FIELDS, where)
    values["benefit_type"] = _code(m.BENEFIT_CODES, data.get("etuus"), where, "etuus")
    return BenefitDays(**values)


def notice_to_canonical(native_id: str, data: Mapping[str, Any]) -> Notification:
    where = f"{m.SYSTEM}/notifications/{native_id}"
    values = _fields(data, m.NOTICE_FIELDS, where)
    values["kind"] = _code(m.NOTICE_CODES, data.get("laji"), where, "laji")
    return Notification(**values)


def report_to_canonical(native_id: str, data: Mapping[str, Any]) -> Attendance:
    """An attendance report item (:func:`report_to_native`) read back."""
    where = f"{m.SYSTEM}/attendance/{native_id}"
    values = _fields(data, m.REPORT_FIELDS, where)
    values["service_type"] = _code(m.SERVICE_CODES, data.get("palvelu"), where, "palvelu")
    months = data.get(m.REPORT_MONTH) or {}
    if not isinstance(months, Mapping):
        raise RecordError(where, m.REPORT_MONTH, "is not a list of months")
    days = [d for month in sorted(months) for d in months[month]]
    return Attendance(**values, attended_dates=days)


def report_to_native(record: Mapping[str, Any], max_days: int) -> dict[str, Any]:
    """An attendance report item: the attended days of one client and week, grouped by
    calendar month. More than ``max_days`` attended days in a week is refused here, with
    the field named: Kela pays the expense allowance for at most five days a week."""
    try:
        days = sorted(_date(d) for d in record.get("attended_dates") or [])
    except (TypeError, ValueError):
        where = f"{m.SYSTEM}/attendance"
        raise RecordError(where, "attended_dates", "not a list of ISO dates") from None
    weeks: dict[str, int] = {}
    for day in days:
        week = iso_week_of(day)
        weeks[week] = weeks.get(week, 0) + 1
    for week, count in sorted(weeks.items()):
        if count > max_days:
            raise RecordError(
                f"{m.SYSTEM}/attendance",
                "attended_dates",
                f"{count} attended days in week {week}; Kela pays the expense allowance for "
                f"at most {max_days} days a week (law 189/2001)",
            )
    native = {n: record[c] for c, n in m.REPORT_FIELDS.items() if record.get(c) is not None}
    if "service_type" in record:
        reverse = {v: c for c, v in m.SERVICE_CODES.items()}
        native["palvelu"] = reverse.get(record["service_type"], record["service_type"])
    months: dict[str, list[str]] = {}
    for day in days:
        months.setdefault(day.isoformat()[:7], []).append(day.isoformat())
    native[m.REPORT_MONTH] = months
    return native


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def encode_billing_cursor(month: str, position: int | None) -> str:
    return json.dumps([month, DONE if position is None else position])


def decode_billing_cursor(cursor: str | None) -> tuple[str, int | None]:
    """(month, lines done in it or None when the month is done); ("", 0) from the start."""
    if not cursor:
        return "", 0
    try:
        month, position = json.loads(cursor)
        if isinstance(month, str) and (position == DONE or isinstance(position, int)):
            return month, None if position == DONE else position
    except (ValueError, TypeError):
        pass
    raise PermanentError(f"{m.SYSTEM}: the cursor is not one this adapter wrote")


class KelaAdapter(Adapter):
    """Kela over X-Road SOAP 4.0.

    Options: ``xroad_client`` (required, ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``),
    ``municipality_code`` (required), ``user_id`` (X-Road ``userId``, default ``hub``),
    ``issue`` (X-Road ``issue``, optional), ``max_paid_days_per_week`` (default 5).
    """

    system_id = m.SYSTEM
    title = m.TITLE
    streams = {
        "attendance": StreamSpec(
            Attendance,
            readable=False,
            writable=True,
            description="attendance days reported for the expense allowance",
            carries=m.REPORT_CARRIES,
        ),
        "billing_lines": StreamSpec(BillingLine, description="the monthly municipal bill"),
        "benefit_days": StreamSpec(BenefitDays, description="benefit-day counts"),
        "notifications": StreamSpec(
            Notification, description="notices of a need for social work or income support"
        ),
    }

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        client = config.options.get(m.OPTION_CLIENT)
        if not isinstance(client, str) or not m.CLIENT_ID_PATTERN.match(client):
            raise ConfigError(
                f"systems.{config.system}.options.{m.OPTION_CLIENT}: required, the hub's X-Road "
                "client as INSTANCE/CLASS/MEMBER/SUBSYSTEM"
            )
        self.client = tuple(client.split("/"))
        self.municipality = str(config.options.get(m.OPTION_MUNICIPALITY, ""))
        if not (len(self.municipality) == 3 and self.municipality.isdigit()):
            raise ConfigError(
                f"systems.{config.system}.options.{m.OPTION_MUNICIPALITY}: a three-digit "
                "municipality code is required"
            )
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

    def _headers(self, service: str) -> Headers:
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

    def _message(self, service: str, body: etree._Element) -> tuple[Headers, bytes]:
        headers = self._headers(service)
        try:
            return headers, soap.envelope(headers, body)
        except InvalidHeader as exc:
            raise PermanentError(f"{m.SYSTEM}/{service}: X-Road header invalid: {exc}") from None

    def _check_echo(self, sent: Headers, message: bytes, header: etree._Element, where: str):
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

    def _call(self, service: str, body: etree._Element) -> etree._Element:
        """One request/response; the response's one body element, ``{service}Response``
        (not yet validated against the body schema)."""
        where = f"{m.SYSTEM}/{service}"
        sent, message = self._message(service, body)
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
        self._check_echo(sent, message, header, where)
        body_elem = root.find(_BODY)
        answers = [] if body_elem is None else [c for c in body_elem if isinstance(c.tag, str)]
        if len(answers) != 1 or answers[0].tag != k(f"{service}Response"):
            raise PermanentError(f"{where}: the response's body is not one <{service}Response>")
        return answers[0]

    def _request(self, name: str, **children: Any) -> etree._Element:
        body = etree.Element(k(f"{name}Request"))
        etree.SubElement(body, k(m.MUNICIPALITY)).text = self.municipality
        for key, value in children.items():
            etree.SubElement(body, k(key)).text = str(value)
        return body

    # --- the contract -------------------------------------------------------------------------

    def check(self) -> CheckResult:
        try:
            months = self.months()
        except (DeliveryError, httpx.HTTPError) as exc:
            return CheckResult(False, str(exc))
        return CheckResult(
            True, f"{m.PROVIDER} answers over X-Road; billing lists for {len(months)} months"
        )

    def months(self) -> list[tuple[str, int]]:
        """(month, lines) of the billing lists available, oldest first. The list is
        validated whole: one that breaks the contract is a permanent error."""
        answer = self._call(m.SVC_MONTHS, self._request(m.SVC_MONTHS))
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

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if stream == "billing_lines":
            yield from self._read_billing(cursor, batch_size)
        elif stream == "benefit_days":
            yield from self._read_sequence(m.SVC_BENEFIT_DAYS, m.COUNT, cursor, batch_size)
        elif stream == "notifications":
            yield from self._read_sequence(m.SVC_NOTICES, m.NOTICE, cursor, batch_size)
        else:
            raise PermanentError(f"{m.SYSTEM} has no readable stream {stream!r}")

    def _read_billing(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        start, done = decode_billing_cursor(cursor)
        for month, declared in self.months():
            if month < start or (month == start and done is None):
                continue
            skip = done if month == start and done else 0
            yield from self._read_month(month, skip, batch_size, declared)

    def _read_month(self, month: str, skip: int, batch_size: int, declared: int) -> Iterator[Batch]:
        """The lines of one month after the first ``skip`` (the service skips them: a resumed
        month does not send again what was committed), of the ``declared`` lines the months
        list says it has. Line numbers must run on from ``skip + 1`` without a gap, or the
        cursor would not mean what it says. Each line is judged on its own
        (:class:`.billing.BillingList`); the month is done (its last batch carries the
        ``done`` cursor) only once the whole list has been read and held every line."""
        where = f"{m.SYSTEM}/{m.SVC_BILLING}"
        body = self._request(m.SVC_BILLING, **{m.MONTH: month, m.FROM: skip + 1})
        sent, message = self._message(m.SVC_BILLING, body)
        listing = BillingList(
            month,
            skip,
            declared,
            self.municipality,
            lambda header: self._check_echo(sent, message, header, where),
            max_bytes=MAX_DOCUMENT_BYTES,
        )
        batch: list[NativeRecord] = []
        with self.http.stream(
            "POST", m.ENDPOINT, content=message, max_bytes=MAX_DOCUMENT_BYTES
        ) as (_, chunks):
            for record in listing.records(chunks):
                batch.append(record)
                if len(batch) >= batch_size and listing.at_line:
                    yield Batch(batch, encode_billing_cursor(month, listing.position))
                    batch = []
        yield Batch(batch, encode_billing_cursor(month, None))

    def _read_sequence(
        self, service: str, element: str, cursor: str | None, batch_size: int
    ) -> Iterator[Batch]:
        """The records of a paged service after sequence number ``cursor``, page by page.
        Each page's start tag is validated, then each record on its own (a record that
        breaks the contract is yielded with its problem); sequence numbers must rise."""
        if cursor is not None and not cursor.isdigit():
            raise PermanentError(f"{m.SYSTEM}/{service}: the cursor is not a sequence number")
        last = int(cursor or 0)
        while True:
            answer = self._call(
                service, self._request(service, **{m.FROM: last + 1, m.MAX: batch_size})
            )
            _check_page(answer, service)
            before = last
            records, last = _page_records(answer, service, element, last)
            if not records:
                return
            more = answer.get(m.MORE) == "true"
            if more and last == before:
                raise PermanentError(f"{m.SYSTEM}/{service}: the page does not move on")
            yield Batch(records, str(last))
            if not more:
                return

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        translate = {
            "billing_lines": line_to_canonical,
            "benefit_days": count_to_canonical,
            "notifications": notice_to_canonical,
            "attendance": report_to_canonical,
        }.get(stream)
        if translate is None:
            raise RecordError(f"{m.SYSTEM}/{stream}/{record.native_id}", None, "unknown stream")
        return translate(record.native_id, record.data)

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        if stream != "attendance":
            raise NotImplementedError(f"{m.SYSTEM} writes only attendance")
        return report_to_native(record, self.max_days)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        if stream != "attendance":
            raise PermanentError(f"{m.SYSTEM} stream {stream!r} is not writable")
        body = self._request(m.SVC_ATTENDANCE)
        for item in items:
            body.append(report_element(item.idempotency_key, item.payload))
        answer = self._call(m.SVC_ATTENDANCE, body)
        if why := why_invalid(answer):
            # the report may have been stored: sending it again with the same keys is safe
            raise TransientError(
                f"{m.SYSTEM}/{m.SVC_ATTENDANCE}: the results are not valid against "
                f"{m.PROVIDER}'s schema: {why}"
            )
        outcomes: dict[str, WriteOutcome] = {}
        for result in answer.iterchildren(k(m.RESULT)):
            key, state = result.get(m.REPORT_KEY_ATTR), result.get(m.RESULT_STATE_ATTR)
            if not key:
                continue
            if state in (m.ACCEPTED, m.DUPLICATE):
                outcomes[key] = WriteOutcome.ok(key)
            elif state == m.REJECTED:
                reason = redact(result.text or "no reason given")
                outcomes[key] = WriteOutcome.permanent(key, f"refused by {m.PROVIDER}: {reason}")
            else:
                outcomes[key] = WriteOutcome.transient(key, f"not stored: {state}")
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result was returned for it")
            for i in items
        ]


def report_element(key: str, payload: Mapping[str, Any]) -> etree._Element:
    """One ``<ilmoitus>`` of the attendance report."""
    elem = etree.Element(k(m.REPORT), {m.REPORT_KEY_ATTR: key})
    for native in m.REPORT_FIELDS.values():
        if payload.get(native) is not None:
            etree.SubElement(elem, k(native)).text = str(payload[native])
    for month, days in sorted((payload.get(m.REPORT_MONTH) or {}).items()):
        month_elem = etree.SubElement(elem, k(m.REPORT_MONTH), {m.REPORT_MONTH_ATTR: month})
        for day in days:
            etree.SubElement(month_elem, k(m.REPORT_DAY)).text = str(day)
    return elem


def report_from_element(elem: etree._Element) -> dict[str, Any]:
    """The payload of an ``<ilmoitus>`` (the sandbox reads reports with it): everything
    the item holds (:func:`.contract.record_data`), its months as ``{month: [days]}``."""
    data = record_data(elem, (m.REPORT_KEY_ATTR,))
    data[m.REPORT_MONTH] = {
        month.get(m.REPORT_MONTH_ATTR): [d.text for d in month.iterchildren(k(m.REPORT_DAY))]
        for month in elem.iterchildren(k(m.REPORT_MONTH))
    }
    return data


# --- pages ------------------------------------------------------------------------------------


def _check_page(answer: etree._Element, service: str) -> None:
    """A page's start tag (``lisaa``, ``seuraava``) against the schema; no text between its
    records. Its records are judged one by one (:func:`_page_records`)."""
    where = f"{m.SYSTEM}/{service}"
    if why := why_invalid(answer, shallow=True):
        raise PermanentError(f"{where}: the page is not valid against {m.PROVIDER}'s schema: {why}")
    texts = [answer.text, *(child.tail for child in answer)]
    if any(text and text.strip() for text in texts):
        raise PermanentError(f"{where}: text outside any record in the page")


def _page_records(
    answer: etree._Element, service: str, element: str, last: int
) -> tuple[list[NativeRecord], int]:
    """(the records of a page, the last sequence number in it). A record that breaks the
    contract is kept with its problem; an element the page does not have becomes a record
    of its own (``after-<number>``), with its XML. A record without a sequence number after
    ``last`` is the page's problem: the cursor could not move past it."""
    records: list[NativeRecord] = []
    number_attr = m.COUNT_NO_ATTR if element == m.COUNT else m.NOTICE_NO_ATTR
    after: dict[int, int] = {}
    for child in answer:
        if not isinstance(child.tag, str):
            continue
        if child.tag != k(element):
            after[last] = after.get(last, 0) + 1
            suffix = f".{after[last]}" if after[last] > 1 else ""
            name = local(child.tag)
            problem = ContractViolation(
                name,
                f"<{name}> is not an element of the page (after record {last}, response "
                f"line {child.sourceline})",
            )
            records.append(
                NativeRecord(
                    f"after-{last}{suffix}", foreign_record_data(foreign_xml(child)), problem
                )
            )
            continue
        number = number_of(child.get(number_attr))
        if number is None or number <= last:
            raise PermanentError(f"{m.SYSTEM}/{service}: the page does not move on")
        last = number
        invalid = validator().invalid(child)
        order = tuple((m.COUNT_FIELDS if element == m.COUNT else m.NOTICE_FIELDS).values())
        where = f"record {number} of the page"
        problem = violation(invalid, element, where, order) if invalid else None
        data = valid_record_data(child) if problem is None else record_data(child)
        records.append(NativeRecord(str(number), data, problem))
    return records, last
