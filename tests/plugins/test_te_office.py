"""The employment authority adapter (te_office) against its own sandbox, over real HTTP."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hub_te_office import data
from hub_te_office import mapping as m
from hub_te_office.adapter import TeOfficeAdapter, _outcome, decode_cursor, encode_cursor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hub import sandbox as sb
from hub.adapter import NativeRecord, Outcome, SystemConfig, WriteItem
from hub.errors import ConfigError, PermanentError, RecordError, TransientError
from hub.model import ServiceEpisode
from hub.model.rules import Rules
from hub.plugins import adapter_registry, sandbox_registry
from hub.privacy import HETU_PATTERN

SEED, SIZE = 1, 120
STREAMS = ["clients", "service_periods", "activation_plans"]
RULES = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
HETU = "010190-999W"  # a test identity code (individual number 900-999)
CLIENT = {"X-Road-Client": m.SANDBOX_CLIENT}


@pytest.fixture(scope="module")
def running() -> Iterator[sb.RunningSandbox]:
    server = sb.start(sandbox_registry()["te_office"], seed=SEED, size=SIZE)
    yield server
    server.stop()


def control(running: sb.RunningSandbox, path: str, method: str = "GET", **kw) -> httpx.Response:
    response = httpx.request(method, f"{running.url}/_sandbox/{path}", trust_env=False, **kw)
    response.raise_for_status()
    return response


def faults(running: sb.RunningSandbox, **settings_) -> None:
    control(running, "faults", "PUT", json=settings_)


def received(running: sb.RunningSandbox) -> list[dict]:
    return control(running, "received").json()


@pytest.fixture(autouse=True)
def _seeded(running):
    control(running, "reset", "POST")


def make_adapter(base_url: str, **options) -> TeOfficeAdapter:
    opts = {**sandbox_registry()["te_office"].adapter_options, **options}
    config = SystemConfig("te_office", base_url, opts, timeout=5, deadline=20)
    return adapter_registry()["te_office"](config)


@pytest.fixture(scope="module")
def adapter(running) -> Iterator[TeOfficeAdapter]:
    with make_adapter(running.base_url) as a:
        yield a


@pytest.fixture(scope="module")
def expected() -> dict[str, list[dict]]:
    """The sandbox's records in (modified, id) order, straight from the data generator."""
    generated = data.generate(SEED, SIZE)
    return {
        s: sorted(items, key=lambda r: (r[m.MODIFIED], r[m.ID_FIELD[s]]))
        for s, items in generated.items()
    }


def read_all(adapter, stream, cursor=None, batch_size=7) -> list[NativeRecord]:
    return [r for b in adapter.read(stream, cursor, batch_size) for r in b.records]


def ids(records) -> list[str]:
    return [r.native_id for r in records]


# --- connectivity and protocol ---------------------------------------------------------------
def test_check(adapter, running):
    result = adapter.check()
    assert result.ok and m.PROVIDER in result.detail
    with make_adapter(f"http://127.0.0.1:{sb.free_port()}{m.BASE_PATH}") as closed:
        result = closed.check()
    assert not result.ok and "ConnectError" in result.detail
    faults(running, unavailable=True)
    outage = adapter.check()
    assert not outage.ok and "503" in outage.detail


def test_the_xroad_client_option_is_required(running):
    for bad in ({"xroad_client": None}, {"xroad_client": "hub"}):
        with pytest.raises(ConfigError, match="xroad_client"):
            make_adapter(running.base_url, **bad)


@pytest.mark.parametrize("header", [None, "hub", "FI-TEST/NOPE/0211675-2/hub", "FI-TEST/MUN/x"])
def test_missing_or_malformed_client_header_is_an_xroad_error(running, header):
    headers = {"X-Road-Client": header} if header else {}
    refused = httpx.get(f"{running.base_url}/clients", headers=headers, trust_env=False)
    assert refused.status_code == 400
    assert refused.headers["X-Road-Error"] == m.ERR_CLIENT_HEADER
    body = refused.json()
    assert set(body) == {"type", "message", "detail"} and body["type"] == m.ERR_CLIENT_HEADER
    assert refused.headers["X-Road-Id"] and refused.headers["X-Road-Request-Id"]


def test_responses_carry_xroad_headers(running):
    url = f"{running.base_url}/clients"
    echoed = httpx.get(url, headers={**CLIENT, "X-Road-Id": "abc-1"}, trust_env=False)
    assert echoed.status_code == 200 and echoed.headers["X-Road-Id"] == "abc-1"
    first = httpx.get(url, params={"limit": 1}, headers=CLIENT, trust_env=False)
    second = httpx.get(url, params={"limit": 2}, headers=CLIENT, trust_env=False)
    assert first.headers["X-Road-Id"] and first.headers["X-Road-Id"] != second.headers["X-Road-Id"]
    assert first.headers["X-Road-Request-Id"] != second.headers["X-Road-Request-Id"]
    assert first.headers["X-Road-Request-Hash"] != second.headers["X-Road-Request-Hash"]
    assert len(first.json()[m.PAGE_ITEMS]) == 1
    unknown = httpx.get(f"{running.base_url}/nothing-here", headers=CLIENT, trust_env=False)
    assert unknown.status_code == 404 and unknown.headers["X-Road-Error"]
    assert set(unknown.json()) == {"type", "message", "detail"}


def test_limit_is_capped_and_checked(running):
    url = f"{running.base_url}/service-periods"
    big = httpx.get(url, params={"limit": 10_000}, headers=CLIENT, trust_env=False)
    assert len(big.json()[m.PAGE_ITEMS]) == min(m.MAX_PAGE, 150)
    for params in ({"limit": 0}, {"limit": "x"}, {"modifiedAfter": "yesterday"}):
        bad = httpx.get(url, params=params, headers=CLIENT, trust_env=False)
        assert bad.status_code == 400 and bad.headers["X-Road-Error"] == m.ERR_BAD_REQUEST


# --- reading ---------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", STREAMS)
def test_paging_reads_every_record_once_in_order(adapter, expected, stream):
    batches = list(adapter.read(stream, None, 7))
    got = [r for b in batches for r in b.records]
    assert ids(got) == [r[m.ID_FIELD[stream]] for r in expected[stream]]
    assert all(len(b.records) == 7 for b in batches[:-1])
    assert [r.data for r in got] == expected[stream]  # data exactly as served
    # ties: some page ends inside a group of records with the same stamp
    stamps = [r.data[m.MODIFIED] for r in got]
    cut_in_tie = [i for i in range(7, len(stamps), 7) if stamps[i - 1] == stamps[i]]
    assert cut_in_tie, "the data should make pages end inside ties"


def test_resume_from_a_mid_cursor(adapter):
    everything = ids(read_all(adapter, "service_periods", batch_size=11))
    batches = adapter.read("service_periods", None, 11)
    head = [r for b in itertools.islice(batches, 3) for r in b.records]
    cursor = encode_cursor(head[-1].data[m.MODIFIED], head[-1].native_id)
    rest = read_all(adapter, "service_periods", cursor, batch_size=11)
    assert ids(head) + ids(rest) == everything


@given(batch=st.integers(min_value=1, max_value=60), cut=st.integers(min_value=0, max_value=40))
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_batch_size_and_resume_point_gives_each_record_once(adapter, expected, batch, cut):
    want = [r[m.ID_FIELD["clients"]] for r in expected["clients"]]
    batches = list(adapter.read("clients", None, batch))
    assert ids(r for b in batches for r in b.records) == want
    cut = min(cut, len(batches) - 1)
    head = [r for b in batches[: cut + 1] for r in b.records]
    rest = read_all(adapter, "clients", batches[cut].next_cursor, batch)
    assert ids(head) + ids(rest) == want


@given(st.text(max_size=40), st.text(max_size=40))
def test_cursor_round_trip(modified, record_id):
    cursor = encode_cursor(modified, record_id)
    assert isinstance(cursor, str) and decode_cursor(cursor) == (modified, record_id)


def test_future_and_garbled_cursors(adapter):
    assert read_all(adapter, "clients", encode_cursor("2999-01-01T00:00:00Z", "")) == []
    assert read_all(adapter, "clients", encode_cursor("2999-01-01T00:00:00Z", "C-000001")) == []
    with pytest.raises(PermanentError, match="cursor"):
        read_all(adapter, "clients", "not a cursor")


def test_native_ids_are_the_systems_own(adapter):
    for stream in STREAMS:
        for record in read_all(adapter, stream, batch_size=200):
            assert not HETU_PATTERN.search(record.native_id)
            assert record.native_id == record.data[m.ID_FIELD[stream]]


# --- faults ----------------------------------------------------------------------------------
def test_rate_limit_is_transient_with_retry_after(adapter, running):
    faults(running, rate_limit_every=1, retry_after=1)
    with pytest.raises(TransientError) as info:
        read_all(adapter, "clients")
    assert info.value.status == 429 and info.value.retry_after == 1
    assert m.ERR_RATE_LIMITED in str(info.value)


def test_every_second_request_rate_limited_fails_mid_read(adapter, running):
    faults(running, rate_limit_every=2, retry_after=1)
    pages = adapter.read("clients", None, 10)
    first = next(pages)
    assert len(first.records) == 10
    with pytest.raises(TransientError):
        next(pages)
    # resuming from the committed cursor loses nothing
    faults(running)
    rest = read_all(adapter, "clients", first.next_cursor, 10)
    assert len(first.records) + len(rest) == SIZE


def test_outage_is_transient(adapter, running):
    faults(running, unavailable_every=1, retry_after=1)
    with pytest.raises(TransientError) as info:
        read_all(adapter, "activation_plans")
    assert info.value.status == 503 and info.value.retry_after == 1


def test_slow_answers_hit_the_deadline(running):
    faults(running, slow_seconds=0.6)
    config = SystemConfig(
        "te_office", running.base_url, {"xroad_client": m.SANDBOX_CLIENT}, timeout=0.2
    )
    with TeOfficeAdapter(config) as slow, pytest.raises(TransientError, match="timed out"):
        read_all(slow, "clients")


@pytest.mark.parametrize(
    ("stream", "field"),
    [("clients", "hetu"), ("service_periods", m.DAYS_PER_WEEK), ("activation_plans", "hetu")],
)
def test_malformed_records_name_the_field_never_the_person(adapter, running, stream, field):
    faults(running, malformed_every=3)
    records = read_all(adapter, stream)
    errors = []
    for record in records:
        try:
            adapter.to_canonical(stream, record)
        except RecordError as exc:
            assert exc.field == field and exc.record == f"te_office/{stream}/{record.native_id}"
            errors.append(str(exc))
        except ValidationError as exc:
            assert any(field in ".".join(map(str, e["loc"])) for e in exc.errors())
            errors.append(str(exc))
    assert len(errors) == len(records) // 3
    assert not any(HETU_PATTERN.search(e) for e in errors)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({m.PERSON_ID: None}, m.PERSON_ID),
        ({"serviceCode": "TYOKOKEILU"}, "serviceCode"),
        ({"status": None}, "status"),
        ({"hoursPerDay": "6"}, "hoursPerDay"),
        ({m.DAYS_PER_WEEK: 2.5}, m.DAYS_PER_WEEK),
    ],
)
def test_garbled_period_fields_are_record_errors(adapter, expected, change, field):
    native = {**expected["service_periods"][0], **change}
    with pytest.raises(RecordError) as info:
        adapter.to_canonical("service_periods", NativeRecord("SP-1", native))
    assert info.value.field == field and info.value.record == "te_office/service_periods/SP-1"
    assert not HETU_PATTERN.search(str(info.value))


# --- translation -----------------------------------------------------------------------------
def test_periods_are_valid_except_the_deliberate_rule_breakers(adapter):
    rules = Rules.load(RULES)
    breakers = []
    for record in read_all(adapter, "service_periods", batch_size=100):
        episode = adapter.to_canonical("service_periods", record)
        assert isinstance(episode, ServiceEpisode)
        violations = rules.check(episode)
        if violations:
            assert [v.field for v in violations] == ["days_per_week"]
            breakers.append((record.native_id, episode.days_per_week, episode.service_type))
    # exactly one per 50 clients: the first period of client 7, 57, 107
    assert breakers == [
        (data.period_id(i, 0), 5, "rehabilitative_work_activity") for i in (7, 57, 107)
    ]


def test_every_stream_translates(adapter):
    for stream in STREAMS:
        records = read_all(adapter, stream, batch_size=200)
        entities = [adapter.to_canonical(stream, r) for r in records]
        assert len(entities) == len(records) > 0
    statuses = {
        adapter.to_canonical("service_periods", r).status
        for r in read_all(adapter, "service_periods", batch_size=200)
    }
    assert statuses == {"planned", "active", "interrupted", "ended"}


def test_round_trip_and_notification_mapping(adapter):
    for record in read_all(adapter, "service_periods", batch_size=200):
        episode = adapter.to_canonical("service_periods", record)
        canonical = episode.model_dump(mode="json")
        back = adapter.to_native("service_periods", canonical)
        assert adapter.to_canonical("service_periods", NativeRecord("x", back)) == episode
        note = adapter.to_native("period_notifications", canonical)
        assert note[m.N_EVENT] == m.EVENT_OF_STATUS[episode.status]
        assert set(note) <= set(m.NOTIFICATION_FIELDS)
        if episode.status == "active":
            assert note[m.N_EVENT_DATE] == canonical["start_date"]
        if episode.status in ("ended", "interrupted"):
            assert note[m.N_EVENT_DATE] == canonical["actual_end_date"]
        assert (m.N_REASON in note) == (episode.status == "interrupted")
    # any field may be missing: to_native never raises
    assert adapter.to_native("period_notifications", {}) == {}
    assert adapter.to_native("service_periods", {"status": "active"}) == {"status": "VOIMASSA"}


# --- writing ---------------------------------------------------------------------------------
def notification(adapter, status, **extra):
    record = {
        "client_hetu": HETU,
        "service_type": "rehabilitative_work_activity",
        "status": status,
        "start_date": "2026-02-01",
        **extra,
    }
    return adapter.to_native("period_notifications", record)


def test_write_notifications_once_per_key(adapter, running):
    items = [
        WriteItem("k1", "r1", notification(adapter, "active")),
        WriteItem("k2", "r2", notification(adapter, "ended", actual_end_date="2026-05-01")),
        WriteItem("k3", "r3", notification(adapter, "planned")),
        WriteItem(
            "k4",
            "r4",
            notification(
                adapter, "interrupted", actual_end_date="2026-03-01", interruption_reason="Muutto"
            ),
        ),
    ]
    outcomes = adapter.write("period_notifications", items)
    assert [o.idempotency_key for o in outcomes] == ["k1", "k2", "k3", "k4"]
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.OK, Outcome.SKIPPED, Outcome.OK]
    assert "planned" in outcomes[2].reason
    again = adapter.write("period_notifications", list(reversed(items)))
    assert [o.outcome for o in again] == [Outcome.OK, Outcome.SKIPPED, Outcome.OK, Outcome.OK]
    got = received(running)
    assert [n[m.N_KEY] for n in got] == ["k1", "k2", "k4"]
    assert [n[m.N_EVENT] for n in got] == ["STARTED", "ENDED", "INTERRUPTED"]
    assert [n[m.N_EVENT_DATE] for n in got] == ["2026-02-01", "2026-05-01", "2026-03-01"]
    assert got[2][m.N_REASON] == "Muutto"


def test_concurrent_repeats_create_one_notification(adapter, running):
    items = [WriteItem(f"c{i}", f"r{i}", notification(adapter, "active")) for i in range(5)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: adapter.write("period_notifications", items), range(8)))
    assert all(o.outcome == Outcome.OK for batch in results for o in batch)
    assert sorted(n[m.N_KEY] for n in received(running)) == [f"c{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"status": "ended"}, "actual_end_date"),
        ({"status": "interrupted", "actual_end_date": "2026-03-01"}, "interruption_reason"),
        ({"status": "active", "start_date": None}, "start_date"),
        ({"status": "active", "client_hetu": None}, "client_hetu"),
        ({"status": "active", "service_type": None}, "service_type"),
        ({"status": None}, "status"),
    ],
)
def test_missing_fields_are_permanent_and_named(adapter, running, record, field):
    payload = adapter.to_native(
        "period_notifications",
        {
            k: v
            for k, v in {
                "client_hetu": HETU,
                "service_type": "rehabilitative_work_activity",
                "start_date": "2026-02-01",
                **record,
            }.items()
            if v is not None
        },
    )
    [outcome] = adapter.write("period_notifications", [WriteItem("m1", "r1", payload)])
    assert outcome.outcome == Outcome.PERMANENT and field in outcome.reason
    assert not HETU_PATTERN.search(outcome.reason)
    assert received(running) == []


def test_only_rehabilitative_work_activity_is_notified(adapter, running):
    payload = notification(adapter, "active", service_type="social_rehabilitation_group_coaching")
    [outcome] = adapter.write("period_notifications", [WriteItem("s1", "r1", payload)])
    assert outcome.outcome == Outcome.SKIPPED
    assert received(running) == []


def test_rejections_are_permanent(adapter, running):
    faults(running, reject_writes=True)
    items = [WriteItem(f"j{i}", f"r{i}", notification(adapter, "active")) for i in range(3)]
    outcomes = adapter.write("period_notifications", items)
    assert [o.outcome for o in outcomes] == [Outcome.PERMANENT] * 3
    assert all("refused" in o.reason for o in outcomes)
    assert received(running) == []
    # the same keys are accepted once the authority accepts again (a replay after a fix)
    faults(running)
    assert {o.outcome for o in adapter.write("period_notifications", items)} == {Outcome.OK}
    assert len(received(running)) == 3


def test_sandbox_rejects_invalid_notifications(adapter, running):
    bad = {**notification(adapter, "active"), m.N_PERSON_ID: "010190-999X", "daysPerWeek": 3}
    [outcome] = adapter.write("period_notifications", [WriteItem("v1", "r1", bad)])
    assert outcome.outcome == Outcome.PERMANENT and "daysPerWeek" in outcome.reason
    wrong_hetu = {**notification(adapter, "active"), m.N_PERSON_ID: "010190-999X"}
    [outcome] = adapter.write("period_notifications", [WriteItem("v2", "r2", wrong_hetu)])
    assert outcome.outcome == Outcome.PERMANENT and m.N_PERSON_ID in outcome.reason
    assert not HETU_PATTERN.search(outcome.reason)
    assert received(running) == []


def test_a_failed_batch_call_is_transient_and_safe_to_repeat(adapter, running):
    items = [WriteItem(f"t{i}", f"r{i}", notification(adapter, "active")) for i in range(3)]
    faults(running, unavailable=True, retry_after=1)
    with pytest.raises(TransientError) as info:
        adapter.write("period_notifications", items)
    assert info.value.status == 503
    faults(running)
    assert {o.outcome for o in adapter.write("period_notifications", items)} == {Outcome.OK}
    assert {o.outcome for o in adapter.write("period_notifications", items)} == {Outcome.OK}
    assert len(received(running)) == 3


def test_per_item_results_map_to_outcomes():
    assert _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_ACCEPTED}).outcome == Outcome.OK
    assert _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_DUPLICATE}).outcome == Outcome.OK
    rejected = _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_REJECTED, m.R_REASON: "bad date"})
    assert rejected.outcome == Outcome.PERMANENT and "bad date" in rejected.reason
    assert _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_FAILED}).outcome == Outcome.TRANSIENT
    assert _outcome({m.N_KEY: "a", m.R_RESULT: "surprise"}).outcome == Outcome.TRANSIENT


def test_reset_restores_the_seeded_state(adapter, running):
    adapter.write("period_notifications", [WriteItem("z1", "r1", notification(adapter, "active"))])
    faults(running, malformed_every=1)
    control(running, "reset", "POST")
    assert received(running) == [] and control(running, "faults").json()["malformed_every"] == 0
    assert adapter.to_canonical("clients", read_all(adapter, "clients", batch_size=1)[0])


# -- the conformance kit -------------------------------------------------------------------

from hub.testing.conformance import AdapterConformance  # noqa: E402


class TestTeOfficeConformance(AdapterConformance):
    system_id = "te_office"
    future_cursors = {
        stream: '["2999-01-01T00:00:00+00:00",""]'
        for stream in ("clients", "service_periods", "activation_plans")
    }

    def write_samples(self, stream):
        from hub.synthetic import person

        return [
            ServiceEpisode(
                client_hetu=person(7, i).hetu,
                service_type="rehabilitative_work_activity",
                start_date=dt.date(2026, 3, 2),
                status="active",
            )
            for i in range(3)
        ] + [
            ServiceEpisode(
                client_hetu=person(7, 9).hetu,
                service_type="rehabilitative_work_activity",
                start_date=dt.date(2026, 3, 2),
                actual_end_date=dt.date(2026, 9, 30),
                status="interrupted",
                interruption_reason="Asiakas aloitti koulutuksen",
            )
        ]
