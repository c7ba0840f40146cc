"""Kela adapter against its sandbox over real HTTP: X-Road SOAP 4.0 headers validated against
the official schemas, echo and request hash checked, faults classified, the attendance report,
the billing list streamed in flat memory, paged notices; and the conformance kit."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import logging
import re
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from hub_kela import contract, data, sandbox_responses, sandbox_services, soap, statements
from hub_kela import mapping as m
from hub_kela import sandbox as kela_sandbox
from hub_kela.adapter import MAX_RESPONSE_BYTES, KelaAdapter, classify
from hub_kela.attendance import report_element
from hub_kela.billing_lines import MAX_DOCUMENT_BYTES, encode_billing_cursor
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from hub import sandbox as sb
from hub.adapter import NativeRecord, Outcome, SystemConfig, WriteItem
from hub.engine import Hub, run_exchange
from hub.errors import ConfigError, PermanentError, RecordError, TransientError
from hub.model import Attendance, Client, DisputeReason, LabourPolicyStatement, iso_week_of
from hub.model.rules import Rules
from hub.plugins import sandbox_registry
from hub.privacy import HETU_PATTERN
from hub.reconciliation import Reconciler
from hub.reconciliation import share_of as hub_share_of
from hub.settings import DEFAULT_EXCHANGES, DEFAULT_RULES, PROJECT_ROOT
from hub.store import deadletters, runs
from hub.store import schema as t
from hub.synthetic import people, person
from hub.testing.conformance import AdapterConformance
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE

SHARED = PROJECT_ROOT.parent / "shared" / "reference" / "x-road"


def make(url: str, **options) -> KelaAdapter:
    opts = {**sandbox_registry()["kela"].adapter_options, **options}
    return KelaAdapter(SystemConfig("kela", url, opts, timeout=10, deadline=120))


@pytest.fixture
def kela(sandboxes):
    adapter = make(sandboxes["kela"].base_url)
    yield adapter
    adapter.close()


def attendance(days: int, monday=dt.date(2026, 3, 30), i: int = 0) -> Attendance:
    return Attendance(
        client_hetu=person(7, i).hetu,
        service_type="rehabilitative_work_activity",
        episode_start_date=dt.date(2026, 3, 2),
        provider_business_id="0211675-2",
        week=iso_week_of(monday),
        attended_dates=[monday + dt.timedelta(days=d) for d in range(days)],
    )


def native(adapter, record: Attendance) -> dict:
    stream = adapter.stream("attendance")
    fields = set(stream.carries)
    return stream.to_native(
        {k: v for k, v in record.model_dump(mode="json").items() if k in fields}
    )


# --- X-Road headers ---------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.exists(), reason="the shared reference folder is not here")
def test_the_schemas_are_the_official_reference_unchanged():
    for name in ("xroad.xsd", "identifiers.xsd"):
        ours = (importlib.resources.files("hub_kela") / "schemas" / "x-road" / name).read_bytes()
        assert ours == (SHARED / name).read_bytes()


def test_request_headers_validate_against_the_official_schemas(kela):
    headers, message = kela.message(m.SVC_MONTHS, kela.request_body(m.SVC_MONTHS))
    root = etree.fromstring(message)
    header = root.find(f"{{{m.SOAP_NS}}}Header")
    elements = list(header)
    assert [etree.QName(e).localname for e in elements] == [
        "client",
        "service",
        "id",
        "userId",
        "protocolVersion",
    ]
    schema = soap.xroad_schema()
    assert all(schema.validate(e) for e in elements)
    service = header.find(f"{{{m.XROAD_NS}}}service")
    assert service.get(f"{{{m.ID_NS}}}objectType") == "SERVICE"
    assert service.findtext(f"{{{m.ID_NS}}}memberCode") == "0246246-0"
    assert header.findtext(f"{{{m.XROAD_NS}}}protocolVersion") == "4.0"
    # a fresh id for every request
    assert kela.message(m.SVC_MONTHS, kela.request_body(m.SVC_MONTHS))[0].id != headers.id


def test_an_invalid_header_is_refused_before_sending(monkeypatch):
    original = soap.header_elements

    def broken(h):
        elements = original(h)
        client = elements[0]
        client.remove(client[0])  # no xRoadInstance
        return elements

    monkeypatch.setattr(soap, "header_elements", broken)
    # nothing listens there: had it sent anything, the error would be a connection error
    with make(f"http://127.0.0.1:{sb.free_port()}") as adapter:
        with pytest.raises(PermanentError, match="X-Road header invalid: <client>"):
            adapter.months()


def test_the_sandbox_refuses_an_invalid_header_with_a_client_fault(sandboxes):
    body = etree.Element(soap.k("laskutuslistatRequest"))
    h = soap.Headers(
        ("FI-TEST", "MUN", "0211675-2", "hub"),
        ("FI-TEST", "GOV", "0246246-0", m.SERVICE_SUBSYSTEM, m.SVC_MONTHS, "v1"),
        "x",
        "u",
    )
    message = soap.envelope(h, body).replace(
        b"<id:xRoadInstance>FI-TEST</id:xRoadInstance>", b"", 1
    )
    response = httpx.post(sandboxes["kela"].url + "/", content=message, trust_env=False)
    assert response.status_code == 500
    code, text = soap.read_fault(etree.fromstring(response.content))
    assert code == m.FAULT_BAD_HEADER and "client" in text


@pytest.mark.parametrize("field", ["id", "userId", "protocolVersion", "requestHash"])
def test_a_response_that_does_not_echo_the_request_is_refused(kela, monkeypatch, field):
    original = sandbox_responses.answer_header

    def tampered(header, message):
        answer = original(header, message)
        answer.find(f"{{{m.XROAD_NS}}}{field}").text = "something else"
        return answer

    monkeypatch.setattr(sandbox_responses, "answer_header", tampered)
    with pytest.raises(PermanentError, match="echo|requestHash"):
        kela.months()


def test_the_issue_header_is_sent_validated_and_echoed(sandboxes, monkeypatch):
    with make(sandboxes["kela"].base_url, issue="KTT-2026/17") as adapter:
        _, message = adapter.message(m.SVC_MONTHS, adapter.request_body(m.SVC_MONTHS))
        issue = etree.fromstring(message).find(f".//{{{m.XROAD_NS}}}issue")
        assert issue.text == "KTT-2026/17" and soap.xroad_schema().validate(issue)
        assert adapter.check().ok
        original = sandbox_responses.answer_header

        def dropped(header, message):
            answer = original(header, message)
            answer.remove(answer.find(f"{{{m.XROAD_NS}}}issue"))
            return answer

        monkeypatch.setattr(sandbox_responses, "answer_header", dropped)
        with pytest.raises(PermanentError, match="<issue>"):
            adapter.months()


def _raw_request(sandboxes, headers: soap.Headers, edit=lambda b: b) -> tuple[str, str]:
    body = etree.Element(soap.k(f"{headers.service[4]}Request"))
    etree.SubElement(body, soap.k(m.MUNICIPALITY)).text = "743"
    message = edit(soap.envelope(headers, body, validate=False))
    response = httpx.post(sandboxes["kela"].url + "/", content=message, trust_env=False)
    assert response.status_code == 500
    return soap.read_fault(etree.fromstring(response.content))


GOOD_CLIENT = ("FI-TEST", "MUN", "0211675-2", "hub")
KELA = ("FI-TEST", "GOV", "0246246-0", m.SERVICE_SUBSYSTEM)


@pytest.mark.parametrize(
    ("client", "service", "edit", "expected"),
    [
        # client is a member, not a subsystem
        (GOOD_CLIENT, (*KELA, m.SVC_MONTHS, "v1"),
         lambda b: b.replace(b'objectType="SUBSYSTEM"', b'objectType="MEMBER"'),
         m.FAULT_BAD_CLIENT),
        # a member code that is no business ID
        (("FI-TEST", "MUN", "kunta", "hub"), (*KELA, m.SVC_MONTHS, "v1"), None,
         m.FAULT_BAD_CLIENT),
        # no client at all
        (GOOD_CLIENT, (*KELA, m.SVC_MONTHS, "v1"),
         lambda b: b[: b.index(b"<xrd:client")] + b[b.index(b"</xrd:client>") + 13 :],
         m.FAULT_BAD_HEADER),
        # a service code Kela does not have
        (GOOD_CLIENT, (*KELA, "salaisuudet", "v1"), None, m.FAULT_UNKNOWN_SERVICE),
        # another member's service
        (GOOD_CLIENT, ("FI-TEST", "GOV", "0245437-2", "x", m.SVC_MONTHS, "v1"), None,
         m.FAULT_UNKNOWN_SERVICE),
        # protocol 3.1
        (GOOD_CLIENT, (*KELA, m.SVC_MONTHS, "v1"),
         lambda b: b.replace(b">4.0<", b">3.1<"), m.FAULT_BAD_HEADER),
    ],
)  # fmt: skip
def test_the_sandbox_checks_the_xroad_header(sandboxes, client, service, edit, expected):
    headers = soap.Headers(client, service, "id-1", "hub")
    code, text = _raw_request(sandboxes, headers, edit or (lambda b: b))
    assert code == expected and code.startswith("Client.") and text


# --- faults -----------------------------------------------------------------------------------


def _fault_server(code: str) -> sb.RunningSandbox:
    async def endpoint(request):
        return Response(soap.fault(code, "something went wrong"), 500, media_type="text/xml")

    spec = sb.Sandbox("kela", "fault", lambda **_: None, 0)
    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])
    return sb.RunningSandbox(spec, app, "127.0.0.1", sb.free_port()).start()


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("Server.ServerProxy.ServiceFailed", TransientError),
        ("SOAP-ENV:Server.ServerProxy.NetworkError", TransientError),
        ("Client.InvalidSoap", PermanentError),
        ("Client.BadRequest", PermanentError),
    ],
)
def test_soap_faults_are_classified(code, error):
    server = _fault_server(code)
    try:
        with make(server.url) as adapter, pytest.raises(error, match="SOAP fault"):
            adapter.months()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("code", "error"),
    [(m.FAULT_SERVICE_FAILED, TransientError), (m.FAULT_BAD_REQUEST, PermanentError)],
)
def test_a_whole_batch_fault_on_write_raises(code, error):
    server = _fault_server(code)
    try:
        with make(server.url) as adapter, pytest.raises(error, match=code):
            payload = native(adapter, attendance(2))
            adapter.stream("attendance").write([WriteItem("w1", "r1", payload)])
    finally:
        server.stop()


def test_classify_ignores_a_body_that_is_not_a_fault():
    response = httpx.Response(500)
    assert classify(response, b"<html>oops</html>", "kela") is None
    assert classify(response, b"not xml", "kela") is None


def test_a_bad_request_is_a_client_fault(kela):
    with pytest.raises(PermanentError, match="Client.BadRequest"):
        list(kela.stream("billing_lines").read_month("2019-01", 0, 10, 0))


# --- attendance -------------------------------------------------------------------------------


def test_attendance_is_grouped_by_month_and_sent_once(kela, sandboxes):
    record = attendance(3)  # Mon 30.3.-Wed 1.4.: two months
    payload = native(kela, record)
    assert payload[m.REPORT_MONTH] == {
        "2026-03": ["2026-03-30", "2026-03-31"],
        "2026-04": ["2026-04-01"],
    }
    items = [WriteItem("a1", "r1", payload)]
    assert [o.outcome for o in kela.stream("attendance").write(items)] == [Outcome.OK]
    assert [o.outcome for o in kela.stream("attendance").write(items)] == [Outcome.OK]
    assert [r["idempotency_key"] for r in sandboxes.received("kela")] == ["a1"]


def test_more_than_five_days_a_week_is_refused_with_the_field_named(kela, sandboxes):
    with pytest.raises(RecordError) as info:
        native(kela, attendance(6))
    assert info.value.field == "attended_dates"
    assert "6 attended days in week 2026-W14" in str(info.value)
    assert "at most 5" in str(info.value)
    # Kela refuses it too, should anything send it
    payload = native(kela, attendance(5))
    payload[m.REPORT_MONTH]["2026-04"].append("2026-04-04")
    [outcome] = kela.stream("attendance").write([WriteItem("a6", "r", payload)])
    assert outcome.outcome == Outcome.PERMANENT and "more than 5" in outcome.reason
    assert sandboxes.received("kela") == []


def test_a_batch_gets_one_result_per_item(kela, sandboxes):
    six = native(kela, attendance(5, i=1))
    six[m.REPORT_MONTH]["2026-04"].append("2026-04-04")
    wrong_code = native(kela, attendance(2, i=2))
    wrong_code["hetu"] = wrong_code["hetu"][:-1] + ("A" if wrong_code["hetu"][-1] != "A" else "B")
    items = [
        WriteItem("b1", "r1", native(kela, attendance(3, i=0))),
        WriteItem("b2", "r2", six),
        WriteItem("b3", "r3", wrong_code),
        WriteItem("b4", "r4", native(kela, attendance(1, monday=dt.date(2026, 4, 6), i=3))),
    ]
    outcomes = kela.stream("attendance").write(items)
    assert [o.idempotency_key for o in outcomes] == ["b1", "b2", "b3", "b4"]
    assert [o.outcome for o in outcomes] == [
        Outcome.OK,
        Outcome.PERMANENT,
        Outcome.PERMANENT,
        Outcome.OK,
    ]
    assert "more than 5" in outcomes[1].reason and "hetu" in outcomes[2].reason
    # re-sent (say, after a lost answer): the accepted ones are not stored again
    again = kela.stream("attendance").write(list(reversed(items)))
    assert [o.outcome for o in again] == [
        Outcome.OK,
        Outcome.PERMANENT,
        Outcome.PERMANENT,
        Outcome.OK,
    ]
    received = sandboxes.received("kela")
    assert sorted(r["idempotency_key"] for r in received) == ["b1", "b4"]
    assert all(set(r) >= {"idempotency_key", "hetu", "viikko", m.REPORT_MONTH} for r in received)


def test_a_rejected_key_may_be_replayed_after_a_fix(kela, sandboxes):
    items = [WriteItem("f1", "r1", native(kela, attendance(2)))]
    sandboxes.faults("kela", reject_writes=True)
    assert [o.outcome for o in kela.stream("attendance").write(items)] == [Outcome.PERMANENT]
    assert sandboxes.received("kela") == []
    sandboxes.faults("kela")
    assert [o.outcome for o in kela.stream("attendance").write(items)] == [Outcome.OK]
    assert len(sandboxes.received("kela")) == 1


def test_to_native_names_the_field_of_a_garbled_date(kela):
    with pytest.raises(RecordError) as info:
        kela.stream("attendance").to_native({"attended_dates": ["2026-13-01"]})
    assert info.value.field == "attended_dates"


def test_the_limit_is_an_option(sandboxes):
    with make(sandboxes["kela"].base_url, max_paid_days_per_week=4) as adapter:
        with pytest.raises(RecordError, match="at most 4"):
            native(adapter, attendance(5))


# --- billing list, benefit days, notices -------------------------------------------------------


#: the municipality the sandbox's single-municipality adapter asks about (Seinäjoki)
HOME = m.SANDBOX_MUNICIPALITY


def payers(code: str = HOME, size: int = SANDBOX_SIZE, seed: int = SANDBOX_SEED) -> list[int]:
    """The people (indexes) Kela bills ``code`` for."""
    return [i for i in range(size) if data.paying_municipality(seed, i) == code]


def lines_of(code: str = HOME) -> int:
    """The lines of ``code``'s bills of the generated months (the fixtures' people)."""
    return sum(data.line_count(SANDBOX_SEED, SANDBOX_SIZE, mo, code) for mo in data.MONTHS)


def test_billing_lines_follow_the_configured_share_and_resume_mid_month(kela):
    rules = Rules.load(DEFAULT_RULES.path())
    batches = list(kela.stream("billing_lines").read(None, 2))
    records = [r for b in batches for r in b.records]
    assert len(records) == lines_of(HOME)
    lines = [kela.stream("billing_lines").to_canonical(r) for r in records]
    assert all(rules.check(line) == [] for line in lines)
    # due on the 28th, but the one bill of the rule breakers (Seinäjoki's October's)
    assert {line.due_date for line in lines} == {
        dt.date(2026, 9, 28),
        dt.date(2026, 10, 28),
        dt.date(2026, 11, 27),
    }
    assert {line.share_percent for line in lines} >= {Decimal(10), Decimal(50)}
    # resume inside the second month
    mid = next(i for i, b in enumerate(batches) if b.next_cursor.startswith('["2026-09", 2'))
    rest = [
        r.native_id
        for b in kela.stream("billing_lines").read(batches[mid].next_cursor, 2)
        for r in b.records
    ]
    done = [r.native_id for b in batches[: mid + 1] for r in b.records]
    assert done + rest == [r.native_id for r in records]
    assert list(kela.stream("billing_lines").read(encode_billing_cursor("2026-10", None), 7)) == []


def test_a_resumed_month_starts_after_the_committed_lines(kela):
    first = next(iter(kela.stream("billing_lines").read(encode_billing_cursor("2026-09", 2), 3)))
    assert [r.native_id for r in first.records] == ["2026-09/3", "2026-09/4", "2026-09/5"]
    assert first.next_cursor == encode_billing_cursor("2026-09", 5)
    # past the last line of a month: only the month's end, then the next month
    count = dict(kela.months())["2026-09"]
    batches = list(kela.stream("billing_lines").read(encode_billing_cursor("2026-09", count), 1000))
    assert batches[0].records == [] and batches[0].next_cursor == '["2026-09", "done"]'
    assert batches[1].records[0].native_id == "2026-10/1"


def test_a_recorded_billing_list_is_served_after_the_generated_months(tmp_path):
    """A month recorded in ``billing_dir`` is offered after the generated ones and read,
    streamed and resumed exactly like them."""
    from hub_kela.sandbox import create_app, write_billing_list

    month = "2026-11"
    never = lambda n: False  # noqa: E731
    written = write_billing_list(tmp_path / f"{month}.xml", data.lines(5, 40, month, never))
    spec = sb.Sandbox("kela", "recorded", lambda **kw: create_app(billing_dir=tmp_path, **kw), 0)
    server = sb.start(spec, size=3)
    try:
        with make(server.url) as adapter:
            assert adapter.months()[-1] == (month, written)
            start = encode_billing_cursor(data.MONTHS[-1], None)
            read = [r for b in adapter.stream("billing_lines").read(start, 7) for r in b.records]
            first = next(
                iter(adapter.stream("billing_lines").read(encode_billing_cursor(month, 5), 3))
            )
            lines = [adapter.stream("billing_lines").to_canonical(r) for r in read]
    finally:
        server.stop()
    expected = list(data.lines(5, 40, month, never))
    assert [r.native_id for r in read] == [f"{month}/{n}" for n in range(1, written + 1)]
    assert [(x.client_hetu, x.days_from, x.municipal_share) for x in lines] == [
        (e["hetu"], e["paivatAlkaen"], e["kunnanOsuus"]) for e in expected
    ]
    assert [r.native_id for r in first.records] == [f"{month}/6", f"{month}/7", f"{month}/8"]


def test_the_share_steps_of_the_sandbox_are_configurable():
    from hub_kela.sandbox import create_app

    steps = [{"from_day": 101, "percent": 25}, {"from_day": 601, "percent": 60}]
    spec = sb.Sandbox("kela", "steps", lambda **kw: create_app(share_steps=steps, **kw), 0)
    server = sb.start(spec, size=200)
    try:
        with make(server.url) as adapter:
            lines = [
                adapter.stream("billing_lines").to_canonical(r)
                for b in adapter.stream("billing_lines").read(None, 100)
                for r in b.records
            ]
    finally:
        server.stop()
    assert {line.share_percent for line in lines} == {Decimal(25), Decimal(60)}
    for line in lines:
        assert line.share_percent == (60 if line.days_from >= 601 else 25)
        assert line.days_to < 601 or line.days_from >= 601  # never across a step


@given(
    steps=st.lists(
        st.tuples(st.integers(1, 900), st.integers(0, 100)), min_size=1, max_size=6,
        unique_by=lambda s: s[0],
    ),
    first=st.integers(min_value=1, max_value=1000),
    length=st.integers(min_value=1, max_value=23),
)  # fmt: skip
def test_segments_follow_any_steps(steps, first, length):
    parsed = data.parse_steps(steps)
    got = list(data.segments(first, first + length - 1, parsed))
    covered = [d for start, end, _ in got for d in range(start, end + 1)]
    assert covered == [d for d in range(first, first + length) if d >= parsed[0][0]]
    for start, end, percent in got:
        assert {data.share(d, parsed) for d in range(start, end + 1)} == {percent}
    for (_, end, _), (start, _, _) in zip(got, got[1:], strict=False):
        assert start == end + 1  # one line per step the month touches, none in between


@given(first=st.integers(min_value=1, max_value=700), length=st.integers(min_value=1, max_value=23))
def test_billing_segments_never_cross_a_step(first, length):
    rules = Rules.load(DEFAULT_RULES.path()).share_rules_for("2026-10")
    covered = []
    for start, end, percent in data.segments(first, first + length - 1):
        assert rules.percent_for(start) == rules.percent_for(end) == percent
        covered.extend(range(start, end + 1))
    assert covered == [d for d in range(first, first + length) if d >= 101]


# --- who pays: the home municipality; the documented rule breakers ---------------------------


def moved(size: int) -> set[int]:
    """The people Kela bills to a municipality not their home (the documented breakers)."""
    return {i for i in range(size) if i % data.MOVED_EVERY == data.MOVED_AT}


def has_days(i: int, month: str) -> bool:
    """Whether person ``i`` has benefit days to bill in ``month`` (beyond the 100th)."""
    return data.days_before(i, month) + data.weekdays(month) > 100


@pytest.mark.parametrize("code", ["743", "408", "145", "092"])
def test_a_bill_is_for_the_municipalitys_residents_but_the_documented_breakers(code):
    """Every line of a municipality's bill is for a person living there, but the lines of
    the people Kela's register has elsewhere (one in a hundred); every resident with days
    to bill is on it, and a person living in another municipality is not."""
    size = 400
    folk = people(SANDBOX_SEED, size)
    index = {p.hetu: i for i, p in enumerate(folk)}
    # Kela's register has a mover in Seinäjoki, in Lapua when they live in Seinäjoki
    elsewhere = {
        i
        for i in moved(size)
        if data.MOVED_TO[folk[i].home_municipality == data.MOVED_TO[0]] == code
    }
    assert moved(size) == {2, 102, 202, 302}
    for month in data.MONTHS:
        bill = list(data.lines(SANDBOX_SEED, size, month, NEVER, municipality=code))
        assert [x["nro"] for x in bill] == list(range(1, len(bill) + 1))
        billed = {index[x["hetu"]] for x in bill}
        strangers = {i for i in billed if folk[i].home_municipality != code}
        assert strangers == {i for i in elsewhere if has_days(i, month)}
        residents = {
            i for i, p in enumerate(folk) if p.home_municipality == code and has_days(i, month)
        }
        assert billed == (residents - moved(size)) | strangers and residents
        assert len(bill) == data.line_count(SANDBOX_SEED, size, month, code)
    assert bool(elsewhere) == (code == "743")  # none of the four movers lives in Seinäjoki


def test_shares_are_rounded_half_up_to_the_cent_like_the_hubs():
    """Half a cent goes up (37.21 € × 21 days × 50 % = 390.705 € is 390.71 €, not the
    half-to-even 390.70 €); every share is the hub's, but the one a cent short of it on
    purpose in each bill for September."""
    assert data.share_of(Decimal("781.41"), Decimal(50)) == Decimal("390.71")
    halves = 0
    for code in ("743", "408"):
        for month in data.MONTHS:
            for x in data.lines(SANDBOX_SEED, 400, month, NEVER, municipality=code):
                paid, percent = x["maksettu"], x["osuusProsentti"]
                halves += (paid * percent / 100) % Decimal("0.01") == Decimal("0.005")
                short = Decimal("0.01") if (month, x["nro"]) == (data.CENT_MONTH, 1) else 0
                assert x["kunnanOsuus"] == hub_share_of(paid, percent) - short, (month, x)
    assert halves > 10  # the rounding is put to the test


def test_one_bill_is_due_on_the_27th():
    due = {
        (month, code): data.bill_due_date(month, code)
        for month in data.MONTHS
        for code in ("743", "408", "145")
    }
    early = {key for key, day in due.items() if day.day != 28}
    assert early == {data.EARLY_DUE} == {("2026-10", "743")}
    assert due[data.EARLY_DUE] == dt.date(2026, 11, 27)
    assert dt.date(2026, 11, 28).weekday() == 5  # the 28th is a Saturday: named the Friday


def test_the_reconciliation_finds_the_documented_breakers_and_nothing_else(sandboxes):
    """Seinäjoki's and Lapua's bills as the sandbox serves them, reconciled against the
    people's home municipalities (those every sandbox gives them), Kela's benefit-day counts
    and the shipped rules: the lines disputed are the sandbox's documented rule breakers,
    each bill has some, and nothing else is disputed."""
    with county(sandboxes["kela"].base_url, ["743", "408"]) as adapter:
        lines = [
            adapter.stream("billing_lines").to_canonical(r)
            for b in adapter.stream("billing_lines").read(None, 100)
            for r in b.records
        ]
        counts = [
            adapter.stream("benefit_days").to_canonical(r)
            for b in adapter.stream("benefit_days").read(None, 100)
            for r in b.records
        ]
    clients = [
        Client(hetu=p.hetu, home_municipality=p.home_municipality)
        for p in people(SANDBOX_SEED, SANDBOX_SIZE)
    ]
    reconciler = Reconciler(counts, clients, Rules.load(DEFAULT_RULES.path()))
    bills: dict[tuple[str, str], list] = {}
    for x in lines:
        bills.setdefault((x.billing_month, x.municipality_code), []).append(x)
    assert set(bills) == {(mo, code) for mo in data.MONTHS for code in ("743", "408")}
    movers = {person(SANDBOX_SEED, i).hetu for i in moved(SANDBOX_SIZE)}
    found, expected = set(), set()
    for (month, code), bill in bills.items():
        found |= {(month, code, f.line, f.dispute.reason_code) for f in reconciler.bill(bill)}
        for n, x in enumerate(bill):
            if str(x.client_hetu) in movers:
                expected.add((month, code, n, DisputeReason.HOME_MUNICIPALITY))
            if (month, code) == data.EARLY_DUE:
                expected.add((month, code, n, DisputeReason.DUE_DATE))
            if (month, n) == (data.CENT_MONTH, 0):
                expected.add((month, code, n, DisputeReason.SHARE_AMOUNT))
    assert found == expected
    assert {reason for *_, reason in found} == {
        DisputeReason.HOME_MUNICIPALITY,
        DisputeReason.DUE_DATE,
        DisputeReason.SHARE_AMOUNT,
    }
    assert {code for _, code, _, _ in found} == {"743", "408"}  # something in each bill
    assert len({(month, code, n) for month, code, n, _ in found}) < len(lines) // 2


def test_notices_and_benefit_days_page_by_sequence_number(kela):
    notices = list(kela.stream("notifications").read(None, 4))
    assert [b.next_cursor for b in notices] == ["4", "8", "12", "15"]
    assert list(kela.stream("notifications").read("15", 4)) == []
    first = kela.stream("notifications").to_canonical(notices[0].records[0])
    assert first.kind in ("social_work_need", "supplementary_income_support")
    assert first.municipality_code == "743"
    records = [r for b in kela.stream("benefit_days").read("40", 100) for r in b.records]
    counts = [kela.stream("benefit_days").to_canonical(r) for r in records]
    # only the people Seinäjoki pays for, each under their person's number (with gaps)
    later = [i for i in payers() if i >= 40]
    assert [r.native_id for r in records] == [str(i + 1) for i in later] and later
    assert all(c.as_of == dt.date(2026, 10, 31) for c in counts)
    assert {c.paying_municipality for c in counts} == {HOME}


def test_a_malformed_line_fails_the_model_not_the_run(kela, sandboxes):
    sandboxes.faults("kela", malformed_every=3)
    records = [r for b in kela.stream("billing_lines").read(None, 50) for r in b.records]
    failed = []
    for r in records:
        try:
            kela.stream("billing_lines").to_canonical(r)
        except ValidationError as exc:
            failed.append(r.native_id)
            assert "municipal_share" in str(exc)
    # every third line of each month's bill (counted from 1 in each)
    assert failed == [r.native_id for r in records if int(r.native_id.split("/")[-1]) % 3 == 0]
    assert len(failed) >= len(data.MONTHS)


SERVE = textwrap.dedent(
    """
    import sys, time
    from hub import sandbox as sb
    from hub.plugins import sandbox_registry
    from hub_kela import data
    data.home_municipality(1, int(sys.argv[2]) - 1)  # every home looked up before serving
    sb.start(sandbox_registry()["kela"], port=int(sys.argv[1]), size=int(sys.argv[2]))
    print("ready", flush=True)
    time.sleep(3600)
    """
)


def _peak_reading_a_month(size: int) -> tuple[int, int]:
    """(lines, peak bytes allocated by this process) reading October's list of ``size``
    people from a sandbox in another process (so that its memory is not counted)."""
    port = sb.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port), str(size)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        with make(f"http://127.0.0.1:{port}") as adapter:
            tracemalloc.start()
            declared = dict(adapter.months())["2026-10"]
            lines = sum(
                len(b.records)
                for b in adapter.stream("billing_lines").read_month("2026-10", 0, 1000, declared)
            )
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return lines, peak
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_large_billing_list_streams_in_flat_memory():
    # Seinäjoki's October bill: some 12 lines per 100 people (those who live there)
    small_lines, small_peak = _peak_reading_a_month(20_000)
    big_lines, big_peak = _peak_reading_a_month(400_000)
    assert big_lines > 40_000 and big_lines > 15 * small_lines
    # one batch of 1000 lines in memory at a time, whatever the size of the document
    assert big_peak < 2 * small_peak + 2_000_000, (small_peak, big_peak)
    assert big_peak < 20_000_000


def test_nothing_personal_in_the_logs(kela, sandboxes, caplog):
    caplog.set_level(logging.DEBUG)
    codes = set()
    for stream in ("billing_lines", "benefit_days", "notifications"):
        for batch in kela.stream(stream).read(None, 50):
            codes |= {str(r.data.get("hetu")) for r in batch.records}
    payload = native(kela, attendance(3))
    bad = {**payload, "hetu": payload["hetu"][:-1] + "X"}
    kela.stream("attendance").write([WriteItem("l1", "r", payload), WriteItem("l2", "r", bad)])
    sandboxes.faults("kela", malformed_every=2)
    for batch in kela.stream("notifications").read(None, 50):
        for record in batch.records:
            try:
                kela.stream("notifications").to_canonical(record)
            except (RecordError, ValidationError) as exc:
                logging.getLogger("test").warning("refused: %s", exc)
    codes |= {payload["hetu"], bad["hetu"]}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(codes) > 20 and caplog.records  # Seinäjoki's payers, the notices' people
    assert not [c for c in codes if c in logged]
    assert not HETU_PATTERN.search(logged)


def test_nothing_personal_in_fault_messages(kela, sandboxes):
    payload = native(kela, attendance(3))
    payload["hetu"] = payload["hetu"][:-1] + "X"
    [outcome] = kela.stream("attendance").write([WriteItem("bad", "r", payload)])
    assert outcome.outcome == Outcome.PERMANENT
    assert payload["hetu"] not in outcome.reason and "hetu" in outcome.reason


# --- the contract: kunta.xsd ---------------------------------------------------------------

RECORDED = "2026-11"  # a recorded month: after the generated ones
NEVER = lambda n: False  # noqa: E731 - no malformed line
K = f'xmlns:ns0="{m.KELA_NS}"'.encode()  # how a recorded line declares Kela's namespace


class Recorded:
    """A hand-editable recorded billing list in ``folder``, of the sandbox's first
    ``people`` people (identity codes of the temporary range only)."""

    def __init__(self, folder: Path, month: str = RECORDED, people: int = 40):
        self.path = folder / f"{month}.xml"
        self.month = month
        self.expected = list(data.lines(SANDBOX_SEED, people, month, NEVER))
        kela_sandbox.write_billing_list(self.path, self.expected)
        self.original = self.path.read_bytes()

    def lines(self) -> list[bytes]:
        return self.path.read_bytes().splitlines(keepends=True)

    def edit(self, n: int, pattern: bytes, new: bytes) -> None:
        """Replace the first match of ``pattern`` in text line ``n`` (= line ``n`` of the
        list)."""
        lines = self.lines()
        lines[n - 1], count = re.subn(pattern, new, lines[n - 1], count=1)
        assert count == 1, (n, pattern)
        self.path.write_bytes(b"".join(lines))

    def declare(self, count: int | None) -> None:
        """What the months list declares (None: as many lines as the file has)."""
        sidecar = self.path.with_suffix(".rivit")
        if count is None:
            sidecar.unlink(missing_ok=True)
        else:
            sidecar.write_text(str(count))

    def restore(self) -> None:
        self.path.write_bytes(self.original)

    def hetu(self, n: int) -> str:
        return self.expected[n - 1]["hetu"]


def start_recorded(folder: Path) -> sb.RunningSandbox:
    """A Kela sandbox with the fixtures' people, offering the recorded lists of ``folder``."""
    from hub_kela.sandbox import create_app

    spec = sb.Sandbox("kela", "recorded", lambda **kw: create_app(billing_dir=folder, **kw), 0)
    return sb.start(spec, seed=SANDBOX_SEED, size=SANDBOX_SIZE)


@pytest.fixture
def recorded(tmp_path) -> Iterator[tuple[Recorded, KelaAdapter]]:
    """A recorded month and an adapter reading it (over HTTP, from a sandbox of its own)."""
    folder = tmp_path / "billing"
    folder.mkdir()
    listing = Recorded(folder)
    server = start_recorded(folder)
    adapter = make(server.base_url)
    try:
        yield listing, adapter
    finally:
        adapter.close()
        server.stop()


AFTER_GENERATED = encode_billing_cursor(data.MONTHS[-1], None)


def read_recorded(adapter: KelaAdapter, batch_size: int = 7) -> list:
    batches = list(adapter.stream("billing_lines").read(AFTER_GENERATED, batch_size))
    assert batches[-1].next_cursor == encode_billing_cursor(RECORDED, None)
    return [r for b in batches for r in b.records]


def test_the_schema_ships_inside_the_package_and_names_what_mapping_does():
    resource = importlib.resources.files("hub_kela") / "schemas" / "kunta.xsd"
    assert resource.is_file()
    assert contract.validator() is contract.validator()  # one per process
    root = etree.fromstring(resource.read_bytes())
    assert root.get("targetNamespace") == m.KELA_NS
    xs = "{http://www.w3.org/2001/XMLSchema}"
    declared = {e.get("name") for e in root.iterchildren(f"{xs}element")}
    for service in m.SERVICES:
        assert {f"{service}Request", f"{service}Response"} <= declared
    assert {m.LINE, m.COUNT, m.NOTICE, m.BILLING, m.RESULT} <= declared
    names = {e.get("name") for e in root.iter(f"{xs}element", f"{xs}attribute")}
    for fields in (m.LINE_FIELDS, m.COUNT_FIELDS, m.NOTICE_FIELDS, m.REPORT_FIELDS):
        assert set(fields.values()) <= names
    assert {m.REPORT_MONTH, m.REPORT_DAY, m.MUNICIPALITY, m.MONTH, m.FROM, m.MAX} <= names
    attributes = {m.ROWS_ATTR, m.DUE_ATTR, m.LINE_NO_ATTR, m.MORE, m.NEXT, m.REPORT_KEY_ATTR}
    attributes |= {m.REPORT_MONTH_ATTR, m.RESULT_STATE_ATTR}
    assert attributes <= names


def _post(url: str, service: str, body: etree._Element) -> etree._Element:
    headers = soap.Headers(GOOD_CLIENT, (*KELA, service, "v1"), "id-1", "hub")
    response = httpx.post(url + "/", content=soap.envelope(headers, body), trust_env=False)
    root = etree.fromstring(response.content)
    assert response.status_code == 200, soap.read_fault(root)
    return root.find(f"{{{m.SOAP_NS}}}Body")[0]


def _body(service: str, **children) -> etree._Element:
    body = etree.Element(soap.k(f"{service}Request"))
    etree.SubElement(body, soap.k(m.MUNICIPALITY)).text = "743"
    for name, value in children.items():
        etree.SubElement(body, soap.k(name)).text = str(value)
    return body


def test_every_response_of_the_sandbox_is_valid_against_the_schema(tmp_path, kela):
    Recorded(tmp_path)
    server = start_recorded(tmp_path)
    try:
        report = _body(m.SVC_ATTENDANCE)
        report.append(report_element("v1", native(kela, attendance(3))))
        bad = native(kela, attendance(2, i=1))
        bad["hetu"] = bad["hetu"][:-1] + ("A" if bad["hetu"][-1] != "A" else "B")
        report.append(report_element("v2", bad))
        answers = [
            _post(server.url, m.SVC_MONTHS, _body(m.SVC_MONTHS)),
            _post(server.url, m.SVC_BILLING, _body(m.SVC_BILLING, kuukausi="2026-10")),
            _post(server.url, m.SVC_BILLING, _body(m.SVC_BILLING, kuukausi=RECORDED, alkaen=5)),
            _post(server.url, m.SVC_BENEFIT_DAYS, _body(m.SVC_BENEFIT_DAYS, enintaan=500)),
            _post(server.url, m.SVC_NOTICES, _body(m.SVC_NOTICES, alkaen=3, enintaan=4)),
            _post(server.url, m.SVC_ATTENDANCE, report),
        ]
    finally:
        server.stop()
    for answer in answers:
        assert len(answer) > 0
        assert contract.validator().invalid(answer) is None, etree.QName(answer).localname
    states = [r.get(m.RESULT_STATE_ATTR) for r in answers[-1]]
    assert states == [m.ACCEPTED, m.REJECTED]


def test_the_sandbox_refuses_a_request_that_breaks_the_schema(sandboxes):
    url = sandboxes["kela"].url + "/"
    headers = soap.Headers(GOOD_CLIENT, (*KELA, m.SVC_BILLING, "v1"), "id-1", "hub")
    message = soap.envelope(headers, _body(m.SVC_BILLING, kuukausi="2026-13"))
    response = httpx.post(url, content=message, trust_env=False)
    code, text = soap.read_fault(etree.fromstring(response.content))
    assert response.status_code == 500 and code == m.FAULT_BAD_REQUEST
    assert "<kuukausi>" in text and "2026-13" not in text


def test_a_report_item_that_breaks_the_schema_is_rejected_alone(kela, sandboxes):
    good = native(kela, attendance(2))
    unknown = {**native(kela, attendance(2, i=1)), "palvelu": "KUNTOUTUS"}
    outcomes = kela.stream("attendance").write(
        [WriteItem("s1", "r1", good), WriteItem("s2", "r2", unknown)]
    )
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.PERMANENT]
    assert "<palvelu>" in outcomes[1].reason and "KUNTOUTUS" not in outcomes[1].reason
    assert [r["idempotency_key"] for r in sandboxes.received("kela")] == ["s1"]


def _line_is(record, n: int, hetu: str) -> bool:
    return record.native_id == f"{RECORDED}/{n}" and record.data["hetu"] == hetu


def test_a_line_with_two_identity_codes_is_quarantined_alone(recorded):
    """A tester's find: the first ``<hetu>`` of a line was taken, and every line of a run
    attributed to one person. Now the line breaks the contract, alone."""
    listing, adapter = recorded
    other = _second_hetu(listing, 7)
    records = read_recorded(adapter)
    assert [r.native_id for r in records] == [
        f"{RECORDED}/{n}" for n in range(1, len(listing.expected) + 1)
    ]
    broken = [r for r in records if r.problem is not None]
    assert [r.native_id for r in broken] == [f"{RECORDED}/7"]
    problem = broken[0].problem
    assert problem.field == "hetu" and "not expected" in problem.message
    assert listing.hetu(7) not in problem.message and other not in problem.message
    # everything read is kept: both codes, never only the first
    assert broken[0].data["hetu"] == [listing.hetu(7), other]
    for n, record in enumerate(records, 1):
        if n != 7:
            assert _line_is(record, n, listing.hetu(n))
            assert adapter.stream("billing_lines").to_canonical(record).client_hetu == listing.hetu(
                n
            )
    # a replay of the kept data without a correction is refused, never narrowed to one code
    with pytest.raises(RecordError, match="more than once") as info:
        adapter.stream("billing_lines").to_canonical(NativeRecord("x", broken[0].data))
    assert info.value.field == "hetu"


def _breaks() -> dict[int, tuple[str, bytes, bytes]]:
    """Line number -> (field to blame, pattern, replacement): one break a line."""
    unknown = b"<ns0:lisatieto>x</ns0:lisatieto>"
    return {
        3: ("lisatieto", rb"</ns0:etuus>", rb"</ns0:etuus>" + unknown),  # unknown element
        5: ("kunnanOsuus", rb"<ns0:kunnanOsuus>", rb"<ns0:kunnanOsuus>-"),  # below 0
        9: ("osuusProsentti", rb"<ns0:osuusProsentti>", rb"<ns0:osuusProsentti>1"),  # over 100
        11: ("maksettu", rb"<ns0:maksettu>[^<]*</ns0:maksettu>", b""),  # required, missing
        12: ("nro", rb'nro="12"', b'nro="kaksitoista"'),  # no line number (the count runs on)
        14: ("etuus", rb"<ns0:etuus>[A-Z]+<", b"<ns0:etuus>XYZ<"),  # not a benefit code
        # an element the list does not have, between lines 15 and 16
        16: ("huomautus", rb"<ns0:rivi", b"<ns0:huomautus " + K + b">x</ns0:huomautus><ns0:rivi"),
    }


def _second_hetu(listing: Recorded, n: int) -> str:
    """Give line ``n`` a second ``<hetu>``: the next other person's; return that code."""
    other = next(e["hetu"] for e in listing.expected[n:] if e["hetu"] != listing.hetu(n))
    listing.edit(n, rb"</ns0:hetu>", f"</ns0:hetu><ns0:hetu>{other}</ns0:hetu>".encode())
    return other


def test_every_line_that_breaks_the_contract_is_quarantined_and_the_rest_flows(recorded):
    listing, adapter = recorded
    breaks = _breaks()
    for n, (_, old, new) in breaks.items():
        listing.edit(n, old, new)
    records = read_recorded(adapter, batch_size=4)
    problems = {r.native_id: r.problem for r in records if r.problem is not None}
    expected_ids = {f"{RECORDED}/{n}" for n in breaks if n != 16} | {f"{RECORDED}/after-15"}
    assert set(problems) == expected_ids
    for n, (field, _, _) in breaks.items():
        native_id = f"{RECORDED}/after-15" if n == 16 else f"{RECORDED}/{n}"
        assert problems[native_id].field == field, (n, problems[native_id])
        assert not HETU_PATTERN.search(problems[native_id].message)
    assert "response line" in problems[f"{RECORDED}/9"].message
    foreign = next(r for r in records if r.native_id == f"{RECORDED}/after-15")
    assert list(foreign.data) == ["xml"]  # kept as it came
    kept = etree.fromstring(foreign.data["xml"])
    assert (kept.tag, kept.text) == (soap.k("huomautus"), "x")
    assert next(r for r in records if r.native_id == f"{RECORDED}/3").data["lisatieto"] == "x"
    assert next(r for r in records if r.native_id == f"{RECORDED}/12").data["@nro"] == "kaksitoista"
    fine = [r for r in records if r.problem is None]
    assert len(fine) == len(listing.expected) - (len(breaks) - 1)
    for record in fine:
        n = int(record.native_id.split("/")[1])
        assert _line_is(record, n, listing.hetu(n))


def test_a_line_number_out_of_sequence_is_the_documents_problem(recorded):
    listing, adapter = recorded
    listing.edit(6, b'nro="6"', b'nro="7"')
    with pytest.raises(PermanentError, match=f"laskutuslista {RECORDED}: line 6 .*out of order"):
        read_recorded(adapter)


LIST_START = b"<k:laskutuslista "
LIST_END = b"</k:laskutuslista>"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ((b'kunta="743"', b'kunta="092"'), "addressed to another municipality"),
        ((b'kuukausi="2026-11"', b'kuukausi="2026-12"'), "of month 2026-12, not the month"),
        ((b'erapaiva="2026-12-28"', b'erapaiva="2026-12-32"'), "start tag .*<erapaiva>"),
        ((LIST_START, b"<k:yhteenveto/>" + LIST_START), "not the one element"),
        ((LIST_END, LIST_END + b"<k:yhteenveto/>"), "holds more than the list"),
        ((b"</soapenv:Header>", b"</soapenv:Header><k:yhteenveto/>"), "not the one element"),
        ((b"</soapenv:Envelope>", b"<k:yhteenveto/></soapenv:Envelope>"), r"\(yhteenveto\)"),
        (4, "text outside any"),
    ],
)
def test_a_list_whose_structure_breaks_the_contract_is_refused(
    recorded, monkeypatch, edit, expected
):
    """Well-formed but not the contract's: the document's problem, permanent, naming the
    month; the month is not taken as done."""
    listing, adapter = recorded
    if edit == 4:  # text between lines 4 and 5
        listing.edit(4, rb"</ns0:rivi>", b"</ns0:rivi>oops")
    else:
        original = sandbox_responses.envelope_around

        def edited(*args, **kwargs):
            for chunk in original(*args, **kwargs):
                yield chunk.replace(*edit)

        monkeypatch.setattr(sandbox_responses, "envelope_around", edited)
    batches = []
    with pytest.raises(PermanentError, match=f"kela/laskutuslista {RECORDED}: .*{expected}"):
        for batch in adapter.stream("billing_lines").read(AFTER_GENERATED, 5):
            batches.append(batch)
    assert all(b.next_cursor != encode_billing_cursor(RECORDED, None) for b in batches)


@pytest.mark.parametrize("fault", ["fewer", "more", "cut"])
def test_a_list_that_is_not_whole_is_not_taken(recorded, fault):
    listing, adapter = recorded
    total = len(listing.expected)
    lines = listing.lines()
    if fault == "fewer":
        listing.declare(total)
        listing.path.write_bytes(b"".join(lines[:-5]))
        expected = f"the list declares {total} lines, the response holds {total - 5}"
    elif fault == "more":
        listing.declare(total - 5)
        expected = f"the list declares {total - 5} lines, the response holds more"
    else:  # the file ends in the middle of line 23
        listing.path.write_bytes(b"".join(lines[:22]) + lines[22][:40])
        expected = "the response ends before the list does"
    batches = []
    with pytest.raises(TransientError) as info:
        for batch in adapter.stream("billing_lines").read(AFTER_GENERATED, 5):
            batches.append(batch)
    assert f"kela/laskutuslista {RECORDED}: {expected}" in str(info.value)
    assert "not taken as complete" in str(info.value)
    assert all(b.next_cursor != encode_billing_cursor(RECORDED, None) for b in batches)
    assert not any(r.problem for b in batches for r in b.records)
    # fixed at the source: the month resumes after what was taken, and is done
    listing.restore()
    listing.declare(None)
    resume = batches[-1].next_cursor if batches else AFTER_GENERATED
    rest = list(adapter.stream("billing_lines").read(resume, 5))
    assert rest[-1].next_cursor == encode_billing_cursor(RECORDED, None)
    ids = [r.native_id for b in (*batches, *rest) for r in b.records]
    assert ids == [f"{RECORDED}/{n}" for n in range(1, total + 1)]


def test_a_page_record_that_breaks_the_contract_is_quarantined(kela, monkeypatch):
    original = data.benefit_days
    broken_one = payers()[1]

    def broken(seed, i, municipality):
        record = original(seed, i, municipality)
        return {**record, "pvm": "2026-02-30"} if i == broken_one else record

    monkeypatch.setattr(data, "benefit_days", broken)
    records = [r for b in kela.stream("benefit_days").read(None, 3) for r in b.records]
    assert [r.native_id for r in records] == [str(i + 1) for i in payers()]
    [bad] = [r for r in records if r.problem is not None]
    assert bad.native_id == str(broken_one + 1) and bad.problem.field == "pvm"
    assert "2026-02-30" not in bad.problem.message and bad.data["pvm"] == "2026-02-30"


def _pages_edited(monkeypatch, edit) -> None:
    """The sandbox's pages, each passed through ``edit(items, attrs)``."""
    original = sandbox_services.KelaServices.page

    def edited(self, *args):
        return edit(*original(self, *args))

    monkeypatch.setattr(sandbox_services.KelaServices, "page", edited)


def test_a_page_short_of_what_it_declares_is_not_taken(kela, monkeypatch):
    """More follow, says the second page, yet it holds nothing: the list is not read to its
    end, so the run must not end as if it were; no cursor passes the page."""
    first = str(payers()[0] + 1)  # the first page's first record (the numbers have gaps)
    _pages_edited(
        monkeypatch,
        lambda items, attrs: (items, attrs) if items[0].get("nro") == first else ([], attrs),
    )
    batches = []
    last = payers()[1] + 1  # the first page's last record (two a page)
    assert len(payers()) > 4  # so that more follow the second page
    with pytest.raises(
        TransientError, match=f"etuuspaivat from record {last + 1}: .*more records follow"
    ):
        for batch in kela.stream("benefit_days").read(None, 2):
            batches.append(batch)
    assert [b.next_cursor for b in batches] == [str(last)]


def test_a_page_inconsistent_with_itself_is_not_taken(kela, monkeypatch):
    """A page that declares, as the record to ask for next, one it has just given."""
    _pages_edited(monkeypatch, lambda items, attrs: (items, {**attrs, m.NEXT: "2"}))
    with pytest.raises(TransientError, match="from record 1: .*declares record 2 to follow"):
        list(kela.stream("benefit_days").read(None, 3))


def test_stray_elements_of_pages_are_named_for_where_they_are(kela, monkeypatch):
    """An element no page has is a record of its own after the record before it, however
    the pages fall: the same place twice is told apart."""

    def stray(items, attrs):
        extra = etree.Element(soap.k("huomautus"))
        extra.text = "x"
        return [*items, extra], attrs

    _pages_edited(monkeypatch, stray)
    after = payers()[0] + 1  # from after the first record on, three a page
    numbers = [i + 1 for i in payers() if i + 1 > after]
    assert len(numbers) >= 4
    records = [r for b in kela.stream("benefit_days").read(str(after), 3) for r in b.records]
    strays = [r for r in records if r.problem is not None]
    pages = [numbers[k : k + 3] for k in range(0, len(numbers), 3)]
    assert [r.native_id for r in strays] == [f"after-{page[-1]}" for page in pages]
    assert all(r.problem.field == "huomautus" for r in strays)
    assert f"after record {numbers[2]}" in strays[0].problem.message
    assert len(records) - len(strays) == len(numbers)


def test_a_cursor_that_is_not_a_sequence_number_is_refused(kela):
    with pytest.raises(PermanentError, match="kela/ilmoitukset: the cursor is not a sequence"):
        list(kela.stream("notifications").read('["2026-10", 5]', 3))


def test_an_invalid_months_list_is_permanent(tmp_path):
    (tmp_path / "2026-13.xml").write_bytes(b"")  # a month that is none
    server = start_recorded(tmp_path)
    try:
        with make(server.base_url) as adapter:
            with pytest.raises(PermanentError, match="months list is not valid.*<kuukausi>"):
                adapter.months()
            assert not adapter.check().ok
    finally:
        server.stop()


def test_invalid_report_results_are_transient(kela, monkeypatch):
    monkeypatch.setattr(sandbox_services.KelaState, "report", lambda *a, **kw: ("tallessa", ""))
    with pytest.raises(TransientError, match="results are not valid.*<tila>"):
        kela.stream("attendance").write([WriteItem("t1", "r1", native(kela, attendance(2)))])


def _endless_server() -> sb.RunningSandbox:
    """A server whose answer never ends (until the client hangs up, or 4 times the cap)."""

    async def endpoint(request):
        async def body():
            yield b"<?xml version='1.0'?><soapenv:Envelope " + K + b">"
            for _ in range(4 * MAX_RESPONSE_BYTES // 65536):
                if await request.is_disconnected():
                    return
                yield b" " * 65536

        return StreamingResponse(body(), media_type="text/xml")

    spec = sb.Sandbox("kela", "endless", lambda **_: None, 0)
    app = Starlette(routes=[Route("/", endpoint, methods=["POST"])])
    return sb.RunningSandbox(spec, app, "127.0.0.1", sb.free_port()).start()


def test_an_endless_answer_is_cut_at_the_small_cap():
    server = _endless_server()
    try:
        with make(server.url) as adapter:
            assert adapter.http.max_bytes == MAX_RESPONSE_BYTES < MAX_DOCUMENT_BYTES
            with pytest.raises(PermanentError, match=f"larger than {MAX_RESPONSE_BYTES} bytes"):
                adapter.months()
    finally:
        server.stop()


def test_only_the_billing_list_may_be_large(kela, monkeypatch):
    from hub_kela import billing_lines

    monkeypatch.setattr(billing_lines, "MAX_DOCUMENT_BYTES", 2_000)
    assert kela.months()  # the small cap of every other answer is not the document's
    with pytest.raises(PermanentError, match="larger than 2000 bytes"):
        list(kela.stream("billing_lines").read(None, 1000))


# --- the contract through the engine: dead letters, nothing stored twice -------------------


@pytest.fixture
def kela_hub(hub_env, tmp_path, monkeypatch):
    """A hub whose Kela is a sandbox offering a recorded month, reading it in small batches
    and not retrying (so that a transient failure ends the run)."""
    config = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    exchange = config["exchanges"][EXCHANGE]
    exchange["batch_size"] = 10
    exchange["delivery"] = {"max_attempts": 1, "max_wait_seconds": 1}
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("HUB_EXCHANGES", str(path))
    folder = tmp_path / "billing"
    folder.mkdir()
    listing = Recorded(folder)
    server = start_recorded(folder)
    monkeypatch.setenv("HUB_SYSTEM_KELA_SEINAJOKI_URL", server.base_url)
    hub = Hub.open()
    try:
        yield hub, listing, hub_env
    finally:
        hub.close()
        server.stop()


EXCHANGE = "kela_to_seinajoki"  # Kela's bill to Seinäjoki, into its own system


def _letters(hub) -> list:
    with hub.store.transaction() as conn:
        return deadletters.list_letters(conn, exchange=EXCHANGE, limit=10_000)


def _delivered_lines(sandboxes, month: str) -> list[tuple[str, int]]:
    """(hetu, first day) of every billing line of ``month`` the municipality received."""
    return [
        (r["hetu"], int(r["daysFrom"]))
        for r in sandboxes.received("seinajoki")
        if r.get("kind") == "billingLine" and r.get("billingMonth") == month
    ]


def _cursor(hub) -> str | None:
    with hub.store.transaction() as conn:
        return runs.get_cursor(conn, EXCHANGE, "billing_lines")


def test_contract_breaks_are_dead_letters_and_every_other_record_is_stored_once(
    kela_hub, monkeypatch
):
    hub, listing, sandboxes = kela_hub
    breaks = _breaks()
    for n, (_, old, new) in breaks.items():
        listing.edit(n, old, new)
    other = _second_hetu(listing, 7)
    original, broken = data.benefit_days, payers()[1]
    monkeypatch.setattr(
        data,
        "benefit_days",
        lambda seed, i, muni: (
            {**original(seed, i, muni), "pvm": "2026-02-30"}
            if i == broken
            else original(seed, i, muni)
        ),
    )
    summary = run_exchange(hub, EXCHANGE)
    assert summary.state == "success_with_failures", summary.error
    letters = _letters(hub)
    by_ref = {f.native_ref: f for f in letters}
    wanted = {f"kela_seinajoki/billing_lines/{RECORDED}/{n}" for n in (*breaks, 7) if n != 16}
    count_ref = f"kela_seinajoki/benefit_days/{broken + 1}"
    wanted |= {f"kela_seinajoki/billing_lines/{RECORDED}/after-15", count_ref}
    assert set(by_ref) == wanted
    assert by_ref[f"kela_seinajoki/billing_lines/{RECORDED}/7"].field == "hetu"
    assert by_ref[count_ref].field == "pvm"
    assert {(f.stage, f.error_class) for f in letters} == {("read", "contract")}
    assert not any(HETU_PATTERN.search(f.reason) for f in letters)
    # every other line stored and delivered once, each as the person it names
    quarantined = {n for n in (*breaks, 7) if n != 16}
    expected = sorted(
        (e["hetu"], e["paivatAlkaen"]) for e in listing.expected if e["nro"] not in quarantined
    )
    assert sorted(_delivered_lines(sandboxes, RECORDED)) == expected
    counts = [r for r in sandboxes.received("seinajoki") if r.get("kind") == "benefitDays"]
    assert len(counts) == len(payers()) - 1  # the people Seinäjoki pays for
    assert _cursor(hub) == encode_billing_cursor(RECORDED, None)
    # the kept record replays the same way: still quarantined, never narrowed
    letter = by_ref[f"kela_seinajoki/billing_lines/{RECORDED}/7"]
    with hub.store.transaction() as conn:
        kept = deadletters.payload_of(hub.keys, deadletters.get(conn, letter.id))
    assert kept["data"]["hetu"] == [listing.hetu(7), other]
    assert kept["problem"]["field"] == "hetu"


@pytest.mark.parametrize("fault", ["fewer", "cut"])
def test_a_month_not_whole_is_not_done_and_completes_once_fixed(kela_hub, fault):
    hub, listing, sandboxes = kela_hub
    total, lines = len(listing.expected), listing.lines()
    if fault == "fewer":
        listing.declare(total)
        listing.path.write_bytes(b"".join(lines[:-6]))
    else:
        listing.path.write_bytes(b"".join(lines[:22]) + lines[22][:50])
    first = run_exchange(hub, EXCHANGE)
    assert first.state == "failed"
    assert f"kela/laskutuslista {RECORDED}: " in first.error
    assert "not taken as complete" in first.error
    month, position = json.loads(_cursor(hub))
    assert month == RECORDED and position != "done" and 0 < position < total
    assert _letters(hub) == []
    # fixed at the source: the next run completes the month, storing nothing twice
    listing.restore()
    listing.declare(None)
    second = run_exchange(hub, EXCHANGE)
    assert second.state == "success", second.error
    assert _cursor(hub) == encode_billing_cursor(RECORDED, None)
    delivered = _delivered_lines(sandboxes, RECORDED)
    assert sorted(delivered) == sorted((e["hetu"], e["paivatAlkaen"]) for e in listing.expected)
    with hub.store.transaction() as conn:
        lines_stored = conn.execute(
            select(func.count()).where(t.records.c.entity == "BillingLine")
        ).scalar()
        versions = conn.execute(select(func.max(t.records.c.version))).scalar()
    generated = lines_of(HOME)
    assert lines_stored == generated + total and versions == 1


class TestKelaConformance(AdapterConformance):
    system_id = "kela"
    future_cursors = {
        "billing_lines": encode_billing_cursor("2999-12", None),
        "benefit_days": "999999999",
        "notifications": "999999999",
    }

    def write_samples(self, stream):
        if stream == "labour_policy_statements":
            return [statement(i) for i in range(len(STANCES))]
        return [attendance(3, i=i) for i in range(3)] + [
            attendance(2, monday=dt.date(2026, 4, 6), i=5)
        ]


def test_round_trip_of_a_native_report():
    adapter = make("http://127.0.0.1:9")
    record = attendance(4)
    back = adapter.stream("attendance").to_canonical(NativeRecord("x", native(adapter, record)))
    assert back == record
    assert Path(m.__file__).name == "mapping.py"


# --- several municipalities: a county asks for all of its own ----------------------------------

COUNTY = ["743", "145", "408"]


def county(url: str, codes=COUNTY) -> KelaAdapter:
    options = {"xroad_client": "FI-TEST/MUN/3221316-6/hub", "municipality_codes": codes}
    return KelaAdapter(SystemConfig("kela_county", url, options, timeout=10, deadline=120))


@pytest.mark.parametrize(
    ("options", "option", "says"),
    [
        ({}, "municipality_codes", "required"),
        ({"municipality_codes": ["743"], "municipality_code": "743"}, "municipality_codes",
         "not both"),
        ({"municipality_codes": []}, "municipality_codes", "a list"),
        ({"municipality_codes": ["743", "74"]}, "municipality_codes", "'74' is not a three"),
        ({"municipality_codes": ["743", "743"]}, "municipality_codes", "twice"),
        ({"municipality_code": "7430"}, "municipality_code", "not a three-digit"),
        ({"municipality_code": ""}, "municipality_code", "not a three-digit"),
    ],
)  # fmt: skip
def test_bad_municipality_options_name_the_option(options, option, says):
    config = SystemConfig("kela_county", "http://127.0.0.1:9", {**options, "xroad_client": (
        "FI-TEST/MUN/3221316-6/hub")})  # fmt: skip
    with pytest.raises(ConfigError) as info:
        KelaAdapter(config)
    assert str(info.value).startswith(f"systems.kela_county.options.{option}: ")
    assert says in str(info.value)


def test_a_county_asks_for_the_notices_and_benefit_days_of_all_of_its_municipalities(sandboxes):
    with county(sandboxes["kela"].base_url) as adapter:
        body = adapter.request_body(m.SVC_NOTICES, **{m.FROM: 1})
        assert [e.text for e in body.iterchildren(soap.k(m.MUNICIPALITY))] == COUNTY
        notices = [
            adapter.stream("notifications").to_canonical(r)
            for b in adapter.stream("notifications").read(None, 4)
            for r in b.records
        ]
        counts = [
            adapter.stream("benefit_days").to_canonical(r)
            for b in adapter.stream("benefit_days").read(None, 25)
            for r in b.records
        ]
    # one sequence for the county: every notice addressed to one of its municipalities (the
    # person's home municipality when it is one of them); the counts of the people its
    # municipalities pay for, and of no one else
    assert len(notices) == data.notice_count(SANDBOX_SIZE)
    assert {n.municipality_code for n in notices} <= set(COUNTY)
    paid_for = sorted(i for code in COUNTY for i in payers(code))
    assert [c.client_hetu for c in counts] == [person(SANDBOX_SEED, i).hetu for i in paid_for]
    assert {c.paying_municipality for c in counts} == set(COUNTY)
    for i, c in zip(paid_for, counts, strict=True):
        home = person(SANDBOX_SEED, i).home_municipality
        assert c.paying_municipality == home or i % data.MOVED_EVERY == data.MOVED_AT
    # the county's attendance report names its municipalities too, and is judged as ever
    with county(sandboxes["kela"].base_url) as adapter:
        item = WriteItem("county:week", "w", native(adapter, attendance(3, i=9)))
        assert [o.outcome for o in adapter.stream("attendance").write([item])] == [Outcome.OK]
    # a municipality of its own gets the counts of the people it pays for
    with make(sandboxes["kela"].base_url) as single:
        ones = [r for b in single.stream("benefit_days").read(None, 100) for r in b.records]
    assert {r.data["maksajakunta"] for r in ones} == {"743"}
    assert [r.native_id for r in ones] == [str(i + 1) for i in payers("743")]


def test_the_sandbox_refuses_a_municipality_asked_twice_or_a_bill_of_two(sandboxes):
    with county(sandboxes["kela"].base_url) as adapter:
        twice = adapter.request_body(m.SVC_NOTICES, municipalities=["743", "743"])
        with pytest.raises(PermanentError, match="asked about twice"):
            adapter.call(m.SVC_NOTICES, twice)
        two = adapter.request_body(m.SVC_MONTHS, municipalities=["743", "145"])
        with pytest.raises(PermanentError, match="Client.BadRequest"):
            adapter.call(m.SVC_MONTHS, two)


def test_a_county_reads_each_municipalitys_bill_in_turn_and_resumes(sandboxes):
    with county(sandboxes["kela"].base_url, ["743", "408"]) as adapter:
        batches = list(adapter.stream("billing_lines").read(None, 4))
        records = [r for b in batches for r in b.records]
        lines = [adapter.stream("billing_lines").to_canonical(r) for r in records]
        assert len(records) == lines_of("743") + lines_of("408")
        # month by month, and within a month each municipality's list (in code order)
        order = list(dict.fromkeys(r.native_id.rsplit("/", 1)[0] for r in records))
        assert order == [f"{mo}/{code}" for mo in data.MONTHS for code in ("408", "743")]
        assert {(x.billing_month, x.municipality_code) for x in lines} == {
            (mo, code) for mo in data.MONTHS for code in ("408", "743")
        }
        assert records[0].native_id == f"{data.MONTHS[0]}/408/1"
        # cursors name the municipality; a run resumes inside one municipality's list
        mid = next(
            i for i, b in enumerate(batches) if b.next_cursor.startswith('["2026-09", "743", ')
        )
        assert json.loads(batches[mid].next_cursor)[2] > 0
        rest = [
            r.native_id
            for b in adapter.stream("billing_lines").read(batches[mid].next_cursor, 4)
            for r in b.records
        ]
        done = [r.native_id for b in batches[: mid + 1] for r in b.records]
        assert done + rest == [r.native_id for r in records]
        assert batches[-1].next_cursor == encode_billing_cursor(data.MONTHS[-1], None, "743")
        assert list(adapter.stream("billing_lines").read(batches[-1].next_cursor, 4)) == []
        # a cursor of the single form reads its month again from every list's start
        again = list(adapter.stream("billing_lines").read(encode_billing_cursor("2026-10", 5), 999))
        assert [r.native_id for b in again for r in b.records][0] == "2026-10/408/1"


def test_notices_to_swedish_speaking_clients_give_their_reason_in_swedish(kela):
    notices = [
        kela.stream("notifications").to_canonical(r)
        for b in kela.stream("notifications").read(None, 100)
        for r in b.records
    ]
    swedish = {
        person(SANDBOX_SEED, data.notice_person(n)).hetu
        for n in range(1, len(notices) + 1)
        if person(SANDBOX_SEED, data.notice_person(n)).language == "sv"
    }
    assert swedish  # persons 0 and 56 of the fixtures' people
    for notice in notices:
        lang = "sv" if str(notice.client_hetu) in swedish else "fi"
        assert notice.reason in data.REASONS[lang]


# --- labour-policy statements (issue 13) -------------------------------------------------------

#: (what the statement says, its end, its ground) of the samples, one of each kind
STANCES = (
    ("entitled", None, None),
    ("not_entitled", None, "Päätoiminen opiskelu 1.1.2027 alkaen"),
    ("period_without_benefit", dt.date(2027, 3, 31), "Kieltäytyi työtarjouksesta ilman syytä"),
    ("employment_obligation", None, "Työssäolovelvoite: 12 viikkoa"),
)


def statement(i: int, **changes) -> LabourPolicyStatement:
    stance, until, reason = STANCES[i % len(STANCES)]
    fields = {
        "client_hetu": person(SANDBOX_SEED, i).hetu,
        "issued_on": dt.date(2026, 11, 20),
        "valid_from": dt.date(2027, 1, 1),
        "valid_until": until,
        "statement": stance,
        "benefit_type": ("labour_market_subsidy", "basic_daily_allowance")[i % 2],
        "reason": reason,
    }
    return LabourPolicyStatement(**{**fields, **changes})


def statement_items(adapter, count: int = 4, tag: str = "s") -> list[WriteItem]:
    stream = adapter.stream("labour_policy_statements")
    return [
        WriteItem(f"{tag}:{i}", f"r{i}", stream.to_native(statement(i).model_dump(mode="json")))
        for i in range(count)
    ]


def received_statements(sandboxes) -> list[dict]:
    return [r for r in sandboxes.received("kela") if r["service"] == m.SVC_STATEMENTS]


def test_labour_policy_statements_are_received_as_sent_once(kela, sandboxes):
    stream = kela.stream("labour_policy_statements")
    assert stream.entity is LabourPolicyStatement and stream.writable and not stream.readable
    assert stream.carries == tuple(LabourPolicyStatement.model_fields)  # all it holds
    items = statement_items(kela)
    assert items[0].payload == {
        "hetu": person(SANDBOX_SEED, 0).hetu,
        "annettu": "2026-11-20",
        "voimassaAlkaen": "2027-01-01",
        "kanta": "EI-ESTETTA",
        "etuus": "TMT",
    }
    first = stream.write(items)
    again = stream.write(list(reversed(items)))  # a lost answer: sent again
    assert [o.outcome for o in first + again] == [Outcome.OK] * 8
    received = received_statements(sandboxes)
    assert [r["idempotency_key"] for r in received] == [i.idempotency_key for i in items]
    carried = set(m.STATEMENT_FIELDS.values())
    for item, entry in zip(items, received, strict=True):
        fields = {k: v for k, v in entry.items() if k not in ("idempotency_key", "service")}
        assert fields == item.payload and set(fields) <= carried  # as sent, carried only
        back = stream.to_canonical(NativeRecord(item.idempotency_key, fields))
        assert back == statement(items.index(item))
    assert {r["kanta"] for r in received} == set(m.ELIGIBILITY_CODES)


def test_a_statement_key_given_twice_in_a_batch_is_one_item(kela, sandboxes):
    [item] = statement_items(kela, 1)
    outcomes = kela.stream("labour_policy_statements").write([item, item])
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.OK]
    assert len(received_statements(sandboxes)) == 1


def _wrong_check(code: str) -> str:
    return code[:-1] + ("A" if code[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda p: {**p, "kanta": "KUNTOUTUS"}, "<kanta>"),
        (lambda p: {k: v for k, v in p.items() if k != "voimassaAlkaen"}, "<voimassaAlkaen>"),
        (lambda p: {**p, "annettu": "2026-11-31"}, "<annettu>"),
        (lambda p: {**p, "hetu": _wrong_check(p["hetu"])}, "hetu is not a valid identity code"),
        (lambda p: {**p, "voimassaAsti": "2026-12-31"}, "voimassaAsti is before voimassaAlkaen"),
        (lambda p: {k: v for k, v in p.items() if k != "perustelu"}, "perustelu is required"),
        (lambda p: {k: v for k, v in p.items() if k != "voimassaAsti"},
         "voimassaAsti is required for a period without benefit"),
    ],
)  # fmt: skip
def test_an_invalid_statement_is_refused_alone_naming_the_field(kela, sandboxes, edit, says):
    items = statement_items(kela)
    bad = WriteItem("bad", "rb", edit(items[2].payload))  # a period without benefit
    outcomes = kela.stream("labour_policy_statements").write([items[0], bad, items[3]])
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.PERMANENT, Outcome.OK]
    assert outcomes[1].reason.startswith("refused by Kela: ") and says in outcomes[1].reason
    assert not HETU_PATTERN.search(outcomes[1].reason)
    assert "KUNTOUTUS" not in outcomes[1].reason and "2026-11-31" not in outcomes[1].reason
    assert [r["idempotency_key"] for r in received_statements(sandboxes)] == ["s:0", "s:3"]
    # the key is not used up: fixed, the same delivery is accepted
    fixed = WriteItem("bad", "rb", items[2].payload)
    assert [o.outcome for o in kela.stream("labour_policy_statements").write([fixed])] == [
        Outcome.OK
    ]


def test_a_statement_kela_has_no_code_for_is_refused_before_sending(kela):
    stream = kela.stream("labour_policy_statements")
    record = statement(0).model_dump(mode="json")
    for field, value in (("statement", "maybe"), ("benefit_type", "housing_allowance")):
        with pytest.raises(RecordError) as info:
            stream.to_native({**record, field: value})
        assert info.value.field == field and value not in str(info.value)
    with pytest.raises(RecordError, match="kanta"):
        stream.to_canonical(NativeRecord("x", {**stream.to_native(record), "kanta": "ESTEETON"}))
    # the exchange may leave fields out: they are not sent
    assert stream.to_native({"statement": "entitled"}) == {"kanta": "EI-ESTETTA"}


def test_the_statements_service_is_in_the_schema_and_its_answers_valid(kela, sandboxes):
    resource = importlib.resources.files("hub_kela") / "schemas" / "kunta.xsd"
    root = etree.fromstring(resource.read_bytes())
    xs = "{http://www.w3.org/2001/XMLSchema}"
    declared = {e.get("name") for e in root.iterchildren(f"{xs}element")}
    assert {f"{m.SVC_STATEMENTS}Request", f"{m.SVC_STATEMENTS}Response", m.STATEMENT} <= declared
    names = {e.get("name") for e in root.iter(f"{xs}element", f"{xs}attribute")}
    assert set(m.STATEMENT_FIELDS.values()) | {m.ITEM_KEY_ATTR} <= names
    codes = {e.get("value") for e in root.iter(f"{xs}enumeration")}
    assert set(m.ELIGIBILITY_CODES) <= codes
    body = _body(m.SVC_STATEMENTS)
    items = statement_items(kela, 2)
    body.append(statements.statement_element("v1", items[0].payload))
    body.append(statements.statement_element("v2", {**items[1].payload, "perustelu": None}))
    answer = _post(sandboxes["kela"].url, m.SVC_STATEMENTS, body)
    assert contract.validator().invalid(answer) is None
    assert [r.get(m.RESULT_STATE_ATTR) for r in answer] == [m.ACCEPTED, m.REJECTED]


@pytest.mark.parametrize(
    ("options", "option", "code"),
    [
        ({"municipality_codes": ["743", "000"]}, "municipality_codes", "000"),
        ({"municipality_codes": ["999"]}, "municipality_codes", "999"),
        ({"municipality_code": "000"}, "municipality_code", "000"),
        ({"municipality_code": "999"}, "municipality_code", "999"),
    ],
)
def test_municipality_codes_must_be_on_thls_code_list(options, option, code):
    client = {"xroad_client": "FI-TEST/MUN/3221316-6/hub"}
    with pytest.raises(ConfigError) as info:
        KelaAdapter(SystemConfig("kela_county", "http://127.0.0.1:9", {**options, **client}))
    message = str(info.value)
    assert message.startswith(f"systems.kela_county.options.{option}: {code} is not a ")
    assert "THL code list 1.2.246.537.6.21 (municipalities)" in message
    config = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    for name, system in config["systems"].items():  # the shipped Kela systems pass
        if system.get("adapter") == "kela":
            with KelaAdapter(SystemConfig(name, "http://127.0.0.1:9", system["options"])) as a:
                assert a.municipalities
