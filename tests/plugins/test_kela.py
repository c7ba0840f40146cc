"""Kela adapter against its sandbox over real HTTP: X-Road SOAP 4.0 headers validated against
the official schemas, echo and request hash checked, faults classified, the attendance report,
the billing list streamed in flat memory, paged notices; and the conformance kit."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import textwrap
import tracemalloc
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hub_kela import data, soap
from hub_kela import mapping as m
from hub_kela import sandbox as kela_sandbox
from hub_kela.adapter import KelaAdapter, classify, encode_billing_cursor
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from hub import sandbox as sb
from hub.adapter import NativeRecord, Outcome, SystemConfig, WriteItem
from hub.errors import PermanentError, RecordError, TransientError
from hub.model import Attendance, iso_week_of
from hub.model.rules import Rules
from hub.plugins import sandbox_registry
from hub.privacy import HETU_PATTERN
from hub.settings import PROJECT_ROOT
from hub.synthetic import person
from hub.testing.conformance import AdapterConformance

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
    fields = set(adapter.streams["attendance"].carries)
    return adapter.to_native(
        "attendance", {k: v for k, v in record.model_dump(mode="json").items() if k in fields}
    )


# --- X-Road headers ---------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.exists(), reason="the shared reference folder is not here")
def test_the_schemas_are_the_official_reference_unchanged():
    for name in ("xroad.xsd", "identifiers.xsd"):
        ours = (PROJECT_ROOT / "schemas" / "x-road" / name).read_bytes()
        assert ours == (SHARED / name).read_bytes()


def test_request_headers_validate_against_the_official_schemas(kela):
    headers, message = kela._message(m.SVC_MONTHS, kela._request(m.SVC_MONTHS))
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
    assert kela._message(m.SVC_MONTHS, kela._request(m.SVC_MONTHS))[0].id != headers.id


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
    original = kela_sandbox._answer

    def tampered(header, message):
        answer = original(header, message)
        answer.find(f"{{{m.XROAD_NS}}}{field}").text = "something else"
        return answer

    monkeypatch.setattr(kela_sandbox, "_answer", tampered)
    with pytest.raises(PermanentError, match="echo|requestHash"):
        kela.months()


def test_the_issue_header_is_sent_validated_and_echoed(sandboxes, monkeypatch):
    with make(sandboxes["kela"].base_url, issue="KTT-2026/17") as adapter:
        _, message = adapter._message(m.SVC_MONTHS, adapter._request(m.SVC_MONTHS))
        issue = etree.fromstring(message).find(f".//{{{m.XROAD_NS}}}issue")
        assert issue.text == "KTT-2026/17" and soap.xroad_schema().validate(issue)
        assert adapter.check().ok
        original = kela_sandbox._answer

        def dropped(header, message):
            answer = original(header, message)
            answer.remove(answer.find(f"{{{m.XROAD_NS}}}issue"))
            return answer

        monkeypatch.setattr(kela_sandbox, "_answer", dropped)
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
            adapter.write("attendance", [WriteItem("w1", "r1", payload)])
    finally:
        server.stop()


def test_classify_ignores_a_body_that_is_not_a_fault():
    response = httpx.Response(500)
    assert classify(response, b"<html>oops</html>", "kela") is None
    assert classify(response, b"not xml", "kela") is None


def test_a_bad_request_is_a_client_fault(kela):
    with pytest.raises(PermanentError, match="Client.BadRequest"):
        list(kela._read_month("2019-01", 0, 10))


# --- attendance -------------------------------------------------------------------------------


def test_attendance_is_grouped_by_month_and_sent_once(kela, sandboxes):
    record = attendance(3)  # Mon 30.3.-Wed 1.4.: two months
    payload = native(kela, record)
    assert payload[m.REPORT_MONTH] == {
        "2026-03": ["2026-03-30", "2026-03-31"],
        "2026-04": ["2026-04-01"],
    }
    items = [WriteItem("a1", "r1", payload)]
    assert [o.outcome for o in kela.write("attendance", items)] == [Outcome.OK]
    assert [o.outcome for o in kela.write("attendance", items)] == [Outcome.OK]
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
    [outcome] = kela.write("attendance", [WriteItem("a6", "r", payload)])
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
    outcomes = kela.write("attendance", items)
    assert [o.idempotency_key for o in outcomes] == ["b1", "b2", "b3", "b4"]
    assert [o.outcome for o in outcomes] == [
        Outcome.OK,
        Outcome.PERMANENT,
        Outcome.PERMANENT,
        Outcome.OK,
    ]
    assert "more than 5" in outcomes[1].reason and "hetu" in outcomes[2].reason
    # re-sent (say, after a lost answer): the accepted ones are not stored again
    again = kela.write("attendance", list(reversed(items)))
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
    assert [o.outcome for o in kela.write("attendance", items)] == [Outcome.PERMANENT]
    assert sandboxes.received("kela") == []
    sandboxes.faults("kela")
    assert [o.outcome for o in kela.write("attendance", items)] == [Outcome.OK]
    assert len(sandboxes.received("kela")) == 1


def test_to_native_names_the_field_of_a_garbled_date(kela):
    with pytest.raises(RecordError) as info:
        kela.to_native("attendance", {"attended_dates": ["2026-13-01"]})
    assert info.value.field == "attended_dates"


def test_the_limit_is_an_option(sandboxes):
    with make(sandboxes["kela"].base_url, max_paid_days_per_week=4) as adapter:
        with pytest.raises(RecordError, match="at most 4"):
            native(adapter, attendance(5))


# --- billing list, benefit days, notices -------------------------------------------------------


def test_billing_lines_follow_the_configured_share_and_resume_mid_month(kela):
    rules = Rules.load(PROJECT_ROOT / "config" / "rules.yaml")
    batches = list(kela.read("billing_lines", None, 7))
    records = [r for b in batches for r in b.records]
    assert len(records) == sum(data.line_count(60, month) for month in data.MONTHS)
    lines = [kela.to_canonical("billing_lines", r) for r in records]
    assert all(rules.check(line) == [] for line in lines)
    assert {line.due_date for line in lines} == {
        dt.date(2026, 9, 28),
        dt.date(2026, 10, 28),
        dt.date(2026, 11, 28),
    }
    assert {line.share_percent for line in lines} >= {Decimal(10), Decimal(50)}
    # resume inside the second month
    mid = next(i for i, b in enumerate(batches) if b.next_cursor.startswith('["2026-09", 1'))
    rest = [
        r.native_id
        for b in kela.read("billing_lines", batches[mid].next_cursor, 7)
        for r in b.records
    ]
    done = [r.native_id for b in batches[: mid + 1] for r in b.records]
    assert done + rest == [r.native_id for r in records]
    assert list(kela.read("billing_lines", encode_billing_cursor("2026-10", None), 7)) == []


def test_a_resumed_month_starts_after_the_committed_lines(kela):
    first = next(iter(kela.read("billing_lines", encode_billing_cursor("2026-09", 10), 3)))
    assert [r.native_id for r in first.records] == ["2026-09/11", "2026-09/12", "2026-09/13"]
    assert first.next_cursor == encode_billing_cursor("2026-09", 13)
    # past the last line of a month: only the month's end, then the next month
    count = dict(kela.months())["2026-09"]
    batches = list(kela.read("billing_lines", encode_billing_cursor("2026-09", count), 1000))
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
            read = [r for b in adapter.read("billing_lines", start, 7) for r in b.records]
            first = next(iter(adapter.read("billing_lines", encode_billing_cursor(month, 5), 3)))
            lines = [adapter.to_canonical("billing_lines", r) for r in read]
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
    server = sb.start(spec, size=30)
    try:
        with make(server.url) as adapter:
            lines = [
                adapter.to_canonical("billing_lines", r)
                for b in adapter.read("billing_lines", None, 100)
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
    rules = Rules.load(PROJECT_ROOT / "config" / "rules.yaml").share_rules_for("2026-10")
    covered = []
    for start, end, percent in data.segments(first, first + length - 1):
        assert rules.percent_for(start) == rules.percent_for(end) == percent
        covered.extend(range(start, end + 1))
    assert covered == [d for d in range(first, first + length) if d >= 101]


def test_notices_and_benefit_days_page_by_sequence_number(kela):
    notices = list(kela.read("notifications", None, 4))
    assert [b.next_cursor for b in notices] == ["4", "8", "12", "15"]
    assert list(kela.read("notifications", "15", 4)) == []
    first = kela.to_canonical("notifications", notices[0].records[0])
    assert first.kind in ("social_work_need", "supplementary_income_support")
    assert first.municipality_code == "743"
    counts = [
        kela.to_canonical("benefit_days", r)
        for b in kela.read("benefit_days", "50", 100)
        for r in b.records
    ]
    assert len(counts) == 10 and all(c.as_of == dt.date(2026, 10, 31) for c in counts)


def test_a_malformed_line_fails_the_model_not_the_run(kela, sandboxes):
    sandboxes.faults("kela", malformed_every=10)
    records = [r for b in kela.read("billing_lines", None, 50) for r in b.records][:50]
    failed = 0
    for r in records:
        try:
            kela.to_canonical("billing_lines", r)
        except ValidationError as exc:
            failed += 1
            assert "municipal_share" in str(exc)
    assert failed == 5


SERVE = textwrap.dedent(
    """
    import sys, time
    from hub import sandbox as sb
    from hub.plugins import sandbox_registry
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
            lines = sum(len(b.records) for b in adapter._read_month("2026-10", 0, 1000))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return lines, peak
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_large_billing_list_streams_in_flat_memory():
    small_lines, small_peak = _peak_reading_a_month(5_000)
    big_lines, big_peak = _peak_reading_a_month(100_000)
    assert big_lines > 100_000 and big_lines > 15 * small_lines
    # one batch of 1000 lines in memory at a time, whatever the size of the document
    assert big_peak < 2 * small_peak + 2_000_000, (small_peak, big_peak)
    assert big_peak < 20_000_000


def test_nothing_personal_in_the_logs(kela, sandboxes, caplog):
    caplog.set_level(logging.DEBUG)
    codes = set()
    for stream in ("billing_lines", "benefit_days", "notifications"):
        for batch in kela.read(stream, None, 50):
            codes |= {str(r.data.get("hetu")) for r in batch.records}
    payload = native(kela, attendance(3))
    bad = {**payload, "hetu": payload["hetu"][:-1] + "X"}
    kela.write("attendance", [WriteItem("l1", "r", payload), WriteItem("l2", "r", bad)])
    sandboxes.faults("kela", malformed_every=2)
    for batch in kela.read("notifications", None, 50):
        for record in batch.records:
            try:
                kela.to_canonical("notifications", record)
            except (RecordError, ValidationError) as exc:
                logging.getLogger("test").warning("refused: %s", exc)
    codes |= {payload["hetu"], bad["hetu"]}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(codes) > 60 and caplog.records
    assert not [c for c in codes if c in logged]
    assert not HETU_PATTERN.search(logged)


def test_nothing_personal_in_fault_messages(kela, sandboxes):
    payload = native(kela, attendance(3))
    payload["hetu"] = payload["hetu"][:-1] + "X"
    [outcome] = kela.write("attendance", [WriteItem("bad", "r", payload)])
    assert outcome.outcome == Outcome.PERMANENT
    assert payload["hetu"] not in outcome.reason and "hetu" in outcome.reason


class TestKelaConformance(AdapterConformance):
    system_id = "kela"
    future_cursors = {
        "billing_lines": encode_billing_cursor("2999-12", None),
        "benefit_days": "999999999",
        "notifications": "999999999",
    }

    def write_samples(self, stream):
        return [attendance(3, i=i) for i in range(3)] + [
            attendance(2, monday=dt.date(2026, 4, 6), i=5)
        ]


def test_round_trip_of_a_native_report():
    adapter = make("http://127.0.0.1:9")
    record = attendance(4)
    back = adapter.to_canonical("attendance", NativeRecord("x", native(adapter, record)))
    assert back == record
    assert Path(m.__file__).name == "mapping.py"
