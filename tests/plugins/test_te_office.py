"""The employment authority adapter (te_office) against its own sandbox, over real HTTP."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
import yaml
from hub_te_office import data, obligations, statements
from hub_te_office import mapping as m
from hub_te_office.adapter import (
    ClientsStream,
    TeOfficeAdapter,
    decode_cursor,
    describe_xroad_error,
    encode_cursor,
)
from hub_te_office.posting import outcome as _outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select

from hub import sandbox as sb
from hub.adapter import NativeRecord, Outcome, SystemConfig, WriteItem
from hub.engine import Hub, run_exchange
from hub.engine import extract as extract_module
from hub.engine.retry import retrying
from hub.engine.translate import Translated, id_problem, translate
from hub.errors import ConfigError, PermanentError, RecordError, TransientError
from hub.model import (
    ActivationPlanObligation,
    BenefitType,
    Eligibility,
    LabourPolicyStatement,
    ObligationTrigger,
    ServiceEpisode,
)
from hub.model.obligations import WINDOWED
from hub.model.rules import Rules
from hub.plugins import adapter_registry, sandbox_registry
from hub.privacy import HETU_PATTERN
from hub.settings import DEFAULT_EXCHANGES, DEFAULT_RULES
from hub.store import deadletters
from hub.store import records as records_store
from hub.store import schema as st_schema
from hub.store.deadletters import Failure
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE

SEED, SIZE = 1, 120
STREAMS = [
    "clients",
    "service_periods",
    "activation_plans",
    "employment_periods",
    "labour_policy_statements",
]
RULES = DEFAULT_RULES.path()
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
    return [r for b in adapter.stream(stream).read(cursor, batch_size) for r in b.records]


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
    batches = list(adapter.stream(stream).read(None, 7))
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
    batches = adapter.stream("service_periods").read(None, 11)
    head = [r for b in itertools.islice(batches, 3) for r in b.records]
    cursor = encode_cursor(head[-1].data[m.MODIFIED], head[-1].native_id)
    rest = read_all(adapter, "service_periods", cursor, batch_size=11)
    assert ids(head) + ids(rest) == everything


@given(batch=st.integers(min_value=1, max_value=60), cut=st.integers(min_value=0, max_value=40))
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_batch_size_and_resume_point_gives_each_record_once(adapter, expected, batch, cut):
    want = [r[m.ID_FIELD["clients"]] for r in expected["clients"]]
    batches = list(adapter.stream("clients").read(None, batch))
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
    pages = adapter.stream("clients").read(None, 10)
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
    [
        ("clients", "hetu"),
        ("service_periods", m.DAYS_PER_WEEK),
        ("activation_plans", "hetu"),
        ("employment_periods", m.DAYS_PER_WEEK),
        ("labour_policy_statements", "hetu"),
    ],
)
def test_malformed_records_name_the_field_never_the_person(adapter, running, stream, field):
    faults(running, malformed_every=3)
    records = read_all(adapter, stream)
    errors = []
    for record in records:
        try:
            adapter.stream(stream).to_canonical(record)
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
        ({"serviceCode": "TYOHARJOITTELU"}, "serviceCode"),
        ({"status": None}, "status"),
        ({"hoursPerDay": "6"}, "hoursPerDay"),
        ({m.DAYS_PER_WEEK: 2.5}, m.DAYS_PER_WEEK),
    ],
)
def test_garbled_period_fields_are_record_errors(adapter, expected, change, field):
    native = {**expected["service_periods"][0], **change}
    with pytest.raises(RecordError) as info:
        adapter.stream("service_periods").to_canonical(NativeRecord("SP-1", native))
    assert info.value.field == field and info.value.record == "te_office/service_periods/SP-1"
    assert not HETU_PATTERN.search(str(info.value))


# --- translation -----------------------------------------------------------------------------
def test_periods_are_valid_except_the_deliberate_rule_breakers(adapter):
    rules = Rules.load(RULES)
    breakers = []
    for record in read_all(adapter, "service_periods", batch_size=100):
        episode = adapter.stream("service_periods").to_canonical(record)
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
        entities = [adapter.stream(stream).to_canonical(r) for r in records]
        assert len(entities) == len(records) > 0
    statuses = {
        adapter.stream("service_periods").to_canonical(r).status
        for r in read_all(adapter, "service_periods", batch_size=200)
    }
    assert statuses == {"planned", "active", "interrupted", "ended"}


def test_round_trip_and_notification_mapping(adapter):
    for record in read_all(adapter, "service_periods", batch_size=200):
        episode = adapter.stream("service_periods").to_canonical(record)
        canonical = episode.model_dump(mode="json")
        back = adapter.stream("service_periods").to_native(canonical)
        assert adapter.stream("service_periods").to_canonical(NativeRecord("x", back)) == episode
        note = adapter.stream("period_notifications").to_native(canonical)
        assert note[m.N_EVENT] == m.EVENT_OF_STATUS[episode.status]
        assert set(note) <= set(m.NOTIFICATION_FIELDS)
        if episode.status == "active":
            assert note[m.N_EVENT_DATE] == canonical["start_date"]
        if episode.status in ("ended", "interrupted"):
            assert note[m.N_EVENT_DATE] == canonical["actual_end_date"]
        assert (m.N_REASON in note) == (episode.status == "interrupted")
    # any field may be missing: to_native never raises
    assert adapter.stream("period_notifications").to_native({}) == {}
    assert adapter.stream("service_periods").to_native({"status": "active"}) == {
        "status": "VOIMASSA"
    }


# --- writing ---------------------------------------------------------------------------------
def notification(adapter, status, **extra):
    record = {
        "client_hetu": HETU,
        "service_type": "rehabilitative_work_activity",
        "status": status,
        "start_date": "2026-02-01",
        **extra,
    }
    return adapter.stream("period_notifications").to_native(record)


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
    outcomes = adapter.stream("period_notifications").write(items)
    assert [o.idempotency_key for o in outcomes] == ["k1", "k2", "k3", "k4"]
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.OK, Outcome.SKIPPED, Outcome.OK]
    assert "planned" in outcomes[2].reason
    again = adapter.stream("period_notifications").write(list(reversed(items)))
    assert [o.outcome for o in again] == [Outcome.OK, Outcome.SKIPPED, Outcome.OK, Outcome.OK]
    got = received(running)
    assert [n[m.N_KEY] for n in got] == ["k1", "k2", "k4"]
    assert [n[m.N_EVENT] for n in got] == ["STARTED", "ENDED", "INTERRUPTED"]
    assert [n[m.N_EVENT_DATE] for n in got] == ["2026-02-01", "2026-05-01", "2026-03-01"]
    assert got[2][m.N_REASON] == "Muutto"


def test_concurrent_repeats_create_one_notification(adapter, running):
    items = [WriteItem(f"c{i}", f"r{i}", notification(adapter, "active")) for i in range(5)]
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: adapter.stream("period_notifications").write(items), range(8))
        )
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
    payload = adapter.stream("period_notifications").to_native(
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
    [outcome] = adapter.stream("period_notifications").write([WriteItem("m1", "r1", payload)])
    assert outcome.outcome == Outcome.PERMANENT and field in outcome.reason
    assert not HETU_PATTERN.search(outcome.reason)
    assert received(running) == []


def test_only_rehabilitative_work_activity_is_notified(adapter, running):
    payload = notification(adapter, "active", service_type="social_rehabilitation_group_coaching")
    [outcome] = adapter.stream("period_notifications").write([WriteItem("s1", "r1", payload)])
    assert outcome.outcome == Outcome.SKIPPED
    assert received(running) == []


def test_rejections_are_permanent(adapter, running):
    faults(running, reject_writes=True)
    items = [WriteItem(f"j{i}", f"r{i}", notification(adapter, "active")) for i in range(3)]
    outcomes = adapter.stream("period_notifications").write(items)
    assert [o.outcome for o in outcomes] == [Outcome.PERMANENT] * 3
    assert all("refused" in o.reason for o in outcomes)
    assert received(running) == []
    # the same keys are accepted once the authority accepts again (a replay after a fix)
    faults(running)
    assert {o.outcome for o in adapter.stream("period_notifications").write(items)} == {Outcome.OK}
    assert len(received(running)) == 3


def test_sandbox_rejects_invalid_notifications(adapter, running):
    bad = {**notification(adapter, "active"), m.N_PERSON_ID: "010190-999X", "daysPerWeek": 3}
    [outcome] = adapter.stream("period_notifications").write([WriteItem("v1", "r1", bad)])
    assert outcome.outcome == Outcome.PERMANENT and "daysPerWeek" in outcome.reason
    wrong_hetu = {**notification(adapter, "active"), m.N_PERSON_ID: "010190-999X"}
    [outcome] = adapter.stream("period_notifications").write([WriteItem("v2", "r2", wrong_hetu)])
    assert outcome.outcome == Outcome.PERMANENT and m.N_PERSON_ID in outcome.reason
    assert not HETU_PATTERN.search(outcome.reason)
    assert received(running) == []


def test_a_failed_batch_call_is_transient_and_safe_to_repeat(adapter, running):
    items = [WriteItem(f"t{i}", f"r{i}", notification(adapter, "active")) for i in range(3)]
    faults(running, unavailable=True, retry_after=1)
    with pytest.raises(TransientError) as info:
        adapter.stream("period_notifications").write(items)
    assert info.value.status == 503
    faults(running)
    assert {o.outcome for o in adapter.stream("period_notifications").write(items)} == {Outcome.OK}
    assert {o.outcome for o in adapter.stream("period_notifications").write(items)} == {Outcome.OK}
    assert len(received(running)) == 3


def test_per_item_results_map_to_outcomes():
    assert _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_ACCEPTED}).outcome == Outcome.OK
    assert _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_DUPLICATE}).outcome == Outcome.OK
    rejected = _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_REJECTED, m.R_REASON: "bad date"})
    assert rejected.outcome == Outcome.PERMANENT and "bad date" in rejected.reason
    assert _outcome({m.N_KEY: "a", m.R_RESULT: m.RESULT_FAILED}).outcome == Outcome.TRANSIENT
    assert _outcome({m.N_KEY: "a", m.R_RESULT: "surprise"}).outcome == Outcome.TRANSIENT


def test_reset_restores_the_seeded_state(adapter, running):
    adapter.stream("period_notifications").write(
        [WriteItem("z1", "r1", notification(adapter, "active"))]
    )
    faults(running, malformed_every=1)
    control(running, "reset", "POST")
    assert received(running) == [] and control(running, "faults").json()["malformed_every"] == 0
    assert adapter.stream("clients").to_canonical(read_all(adapter, "clients", batch_size=1)[0])


# --- strict JSON: a bad record fails alone, a bad page fails as a page ------------------------
def hostile(running: sb.RunningSandbox, **settings_) -> None:
    """Serve what no well-behaved service would (the sandbox's test-only option)."""
    control(running, "hostile", "PUT", json=settings_)


def limits_asked(running: sb.RunningSandbox) -> list[int]:
    return control(running, "hostile").json()["limits"]


def raw(record: dict, **changes) -> str:
    """The record as the service would write it, changed; ASCII (a lone surrogate escaped)."""
    return json.dumps({**record, **changes})


def spliced(record: dict, field: str, text: str) -> str:
    """The record with ``field``'s value written as ``text`` verbatim (what json.dumps cannot
    write: 1e999, a 5000-digit number)."""
    return raw(record, **{field: "@@"}).replace('"@@"', text)


def without(record: dict, field: str) -> str:
    return json.dumps({k: v for k, v in record.items() if k != field})


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


#: (kind, raw text of the client, the field the dead letter names, words of the reason, whether
#: the record keeps its own id)
FLAWED_CLIENTS = [
    ("surrogate", lambda r: raw(r, firstName="Ai\ud800no"), "firstName", "lone surrogate", True),
    ("surrogate-key", lambda r: raw(r, **{"\udc00x": 1}), "(record)", "field name", True),
    ("duplicate", lambda r: raw(r)[:-1] + ', "lastName": "Toinen"}', "lastName", "2 times", True),
    ("nan", lambda r: raw(r, homeMunicipality=math.nan), "homeMunicipality", "NaN", True),
    ("infinity", lambda r: raw(r, language=math.inf), "language", "Infinity", True),
    ("-infinity", lambda r: raw(r, language=-math.inf), "language", "-Infinity", True),
    (
        "overflow",
        lambda r: spliced(r, "homeMunicipality", "1e999"),
        "homeMunicipality",
        "too large",
        True,
    ),
    ("long-number", lambda r: spliced(r, "language", "7" * 5000), "language", "5000 digits", True),
    ("deep", lambda r: raw(r, extra=nested(40)), "extra" + "[0]" * 29, "nested more than", True),
    ("not-an-object", lambda r: json.dumps([r["clientId"]]), None, "not a JSON object", False),
    ("no-id", lambda r: without(r, "clientId"), "clientId", "missing", False),
    ("numeric-id", lambda r: raw(r, clientId=17), "clientId", "not a string", False),
    ("unprintable-id", lambda r: raw(r, clientId="C-\u0007"), "clientId", "unprintable", False),
    ("surrogate-id", lambda r: raw(r, clientId="\ud800"), "clientId", "lone surrogate", False),
    ("long-id", lambda r: raw(r, clientId="C" * 201), "clientId", "longer than", False),
    ("modified-number", lambda r: raw(r, modified=20261001), "modified", "not a string", True),
    ("no-modified", lambda r: without(r, "modified"), "modified", "missing", True),
]


def position_after(records: list[dict], index: int) -> str:
    """How the paginator names the place after record ``index`` (-1: the start)."""
    if index < 0:
        return "(start)"
    return f"{records[index][m.MODIFIED]}/{records[index][m.ID_FIELD['clients']]}"


@pytest.mark.parametrize(
    ("build", "field", "words", "own_id"),
    [pytest.param(*rest, id=kind) for kind, *rest in FLAWED_CLIENTS],
)
def test_a_record_with_a_flaw_is_a_dead_letter_and_the_rest_flows(
    adapter, running, expected, build, field, words, own_id
):
    clients, at = expected["clients"], 10  # the fourth of the second page of 7
    hostile(running, stream="clients", records={str(at): build(clients[at])})
    records = read_all(adapter, "clients", batch_size=7)
    [bad] = [r for r in records if r.problem is not None]
    assert bad.problem.field == field and words in bad.problem.message
    assert ids(r for r in records if r.problem is None) == [
        c["clientId"] for i, c in enumerate(clients) if i != at
    ]
    if own_id:
        assert bad.native_id == clients[at]["clientId"]
    else:  # where it was read: stable and printable
        assert bad.native_id == f"after {position_after(clients, 6)} #3"
    json.dumps(bad.data)  # kept as JSON in the dead letter
    failure = translate(adapter.stream("clients"), Rules.load(RULES), bad)
    assert isinstance(failure, Failure)
    assert (failure.stage, failure.error_class, failure.field) == ("read", "contract", field)
    assert failure.native_ref.startswith("te_office/clients/")
    assert not HETU_PATTERN.search(failure.reason) and id_problem(failure.native_ref) is None


def test_a_record_the_cursor_cannot_stand_on_is_read_again_with_the_next_page(
    adapter, running, expected
):
    """A record without a usable (modified, id) that ends a page is not taken with it: the
    cursor stops before it and the next page, which starts with it, takes it."""
    clients = expected["clients"]
    hostile(running, stream="clients", records={"13": without(clients[13], "clientId")})
    batches = list(adapter.stream("clients").read(None, 7))
    assert [len(b.records) for b in batches[:3]] == [7, 6, 7]
    assert decode_cursor(batches[1].next_cursor) == (
        clients[12][m.MODIFIED],
        clients[12]["clientId"],
    )
    records = [r for b in batches for r in b.records]
    [bad] = [r for r in records if r.problem is not None]
    assert bad.native_id == f"after {position_after(clients, 12)} #0"
    assert len(records) == SIZE and len(set(ids(records))) == SIZE


def test_the_last_record_without_an_id_stops_the_stream_after_the_rest(adapter, running, expected):
    clients = expected["clients"]
    hostile(running, stream="clients", records={str(SIZE - 1): without(clients[-1], "clientId")})
    got = []
    with pytest.raises(PermanentError) as caught:
        for batch in adapter.stream("clients").read(None, 50):
            got += batch.records
    assert ids(got) == [c["clientId"] for c in clients[:-1]]
    message = str(caught.value)
    assert f"te_office/clients after {position_after(clients, SIZE - 2)}" in message
    assert "cannot move past" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<html>Bad Gateway</html>", "not JSON"),
        ('{"items": [1, 2], "hasMore": false} {}', "not JSON"),
        ("[]", "not a page"),
        ('{"hasMore": false}', "no list items"),
        ('{"items": {}, "hasMore": false}', "no list items"),
        ('{"items": [], "items": [], "hasMore": false}', "items: given 2 times"),
        ('{"items": [], "hasMore": NaN}', "hasMore: NaN is not a JSON number"),
        ('{"items": [], "hasMore": "yes"}', "hasMore is not true or false"),
        ('{"items": [' + "[" * 10_000 + "]" * 10_000 + "]}", "nested too deeply"),
        ('{"items": [], "\\ud800": 1}', "lone surrogate"),
    ],
)
def test_a_page_that_is_not_one_fails_as_a_page_naming_where(adapter, running, body, words):
    hostile(running, stream="clients", body=body)
    with pytest.raises(PermanentError, match=words) as caught:
        read_all(adapter, "clients")
    assert "te_office/clients after (start)" in str(caught.value)


def test_a_page_that_does_not_move_on_names_the_cursor(adapter, running, expected):
    clients = expected["clients"]
    body = json.dumps({"items": clients[:3], "hasMore": True})
    hostile(running, stream="clients", body=body)
    cursor = encode_cursor(clients[5][m.MODIFIED], clients[5]["clientId"])
    with pytest.raises(PermanentError, match="does not move the cursor on") as caught:
        read_all(adapter, "clients", cursor)
    assert f"after {position_after(clients, 5)}" in str(caught.value)


def test_a_page_cut_short_is_transient_and_loses_nothing(adapter, running, expected):
    hostile(running, stream="clients", cut_after=1, cut_times=1)
    pages = adapter.stream("clients").read(None, 10)
    first = next(pages)
    with pytest.raises(TransientError, match="ends before it is complete") as caught:
        next(pages)
    assert f"te_office/clients after {position_after(expected['clients'], 9)}" in str(caught.value)
    rest = read_all(adapter, "clients", first.next_cursor, 10)  # the next try reads it whole
    assert ids(first.records) + ids(rest) == [c["clientId"] for c in expected["clients"]]


def page_bytes(records: list[dict]) -> int:
    """The size of a page of ``records`` as the sandbox writes it."""
    items = ",".join(json.dumps(r, ensure_ascii=False) for r in records)
    return len(f'{{"items":[{items}],"hasMore":true}}'.encode())


def test_a_page_over_the_byte_cap_is_read_in_halves(adapter, running, expected, monkeypatch):
    clients = expected["clients"]
    halves = max(page_bytes(clients[i : i + 4]) for i in range(0, SIZE, 4))
    assert min(page_bytes(clients[i : i + 8]) for i in range(0, SIZE - 8, 8)) > halves
    monkeypatch.setattr(ClientsStream, "max_page_bytes", halves)
    hostile(running, stream="clients")
    batches = list(adapter.stream("clients").read(None, 8))
    assert ids(r for b in batches for r in b.records) == [c["clientId"] for c in clients]
    asked = limits_asked(running)
    assert asked[:3] == [8, 4, 4] and max(len(b.records) for b in batches) == 4
    assert asked.count(8) >= 2  # the limit is tried again after pages that fit


def test_only_a_single_record_over_the_byte_cap_fails_the_stream(
    adapter, running, expected, monkeypatch
):
    clients = expected["clients"]
    monkeypatch.setattr(ClientsStream, "max_page_bytes", 3000)
    assert page_bytes(clients[:8]) < 3000
    hostile(running, stream="clients", records={"20": raw(clients[20], note="x" * 5000)})
    got = []
    with pytest.raises(PermanentError) as caught:
        for batch in adapter.stream("clients").read(None, 8):
            got += batch.records
    assert ids(got) == [c["clientId"] for c in clients[:20]]
    message = str(caught.value)
    assert f"te_office/clients after {position_after(clients, 19)}" in message
    assert "the next record alone is larger than the page cap of 3000 bytes" in message
    assert limits_asked(running) == [8, 8, 8, 4, 4, 2, 1]


@pytest.mark.parametrize(
    "answer",
    [
        "<html>Gateway Timeout</html>",
        '{"results": [{"idempotencyKey": "h0", "result": "accepted"}',
        '{"results": [], "results": []}',
        '{"results": NaN}',
        '{"status": "ok"}',
        "",
    ],
)
def test_an_answer_without_usable_results_is_transient_and_resending_is_safe(
    adapter, running, answer
):
    items = [WriteItem(f"h{i}", f"r{i}", notification(adapter, "active")) for i in range(3)]
    hostile(running, answer=answer)
    with pytest.raises(TransientError, match="sending again with the same keys is safe"):
        adapter.stream("period_notifications").write(items)
    assert len(received(running)) == 3  # they were stored all the same
    hostile(running)
    assert {o.outcome for o in adapter.stream("period_notifications").write(items)} == {Outcome.OK}
    assert len(received(running)) == 3


def test_a_result_that_is_not_strict_json_is_no_verdict(adapter, running):
    items = [WriteItem(f"v{i}", f"r{i}", notification(adapter, "active")) for i in range(3)]
    hostile(
        running,
        answer='{"results": [{"idempotencyKey": "v0", "result": "rejected", "reason": "\\udc00"},'
        ' {"idempotencyKey": "v1", "result": "accepted", "result": "rejected"},'
        ' {"idempotencyKey": "v2", "result": "accepted"}]}',
    )
    outcomes = adapter.stream("period_notifications").write(items)
    assert [o.outcome for o in outcomes] == [Outcome.TRANSIENT, Outcome.TRANSIENT, Outcome.OK]
    assert "reason: holds a lone surrogate" in outcomes[0].reason
    assert "result: given 2 times" in outcomes[1].reason
    for outcome in outcomes:
        outcome.reason.encode()  # storable: UTF-8 can hold it


def test_error_bodies_are_read_strictly(running):
    response = httpx.Response(503, headers={m.H_ERROR: m.ERR_UNAVAILABLE})
    body = b'{"type": "x", "message": "\\ud800", "detail": "d"}'
    assert describe_xroad_error(response, body).encode()
    assert describe_xroad_error(response, b'{"type": "x", "message": "m"}') == "x: m"


# --- the same, through a whole run of the exchange ----------------------------------------------
@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def stored_ids(hub: Hub, system: str, entity: str) -> list[str]:
    """The native ids of ``system`` the store holds records of ``entity`` for (one each)."""
    im = st_schema.identity_map.c
    with hub.store.transaction() as conn:
        rids = list(
            conn.execute(
                select(im.record_id).where(im.system == system, im.entity == entity)
            ).scalars()
        )
        count = conn.execute(
            select(func.count())
            .select_from(st_schema.records)
            .where(st_schema.records.c.entity == entity)
        ).scalar_one()
        native = records_store.native_ids_for(conn, hub.keys, system, entity, rids)
    assert count == len(rids) == len(set(native.values()))
    return sorted(native.values())


def letters(hub: Hub, exchange: str, **filters) -> list:
    with hub.store.transaction() as conn:
        return deadletters.list_letters(conn, exchange=exchange, limit=10_000, **filters)


def sandbox_periods() -> list[dict]:
    generated = data.generate(SANDBOX_SEED, SANDBOX_SIZE)["service_periods"]
    return sorted(generated, key=lambda r: (r[m.MODIFIED], r[m.ID_FIELD["service_periods"]]))


#: the records of one page that each hold one kind of flaw, by position, and the field named
FLAWED_PERIODS = {
    2: (lambda r: raw(r, providerBusinessId="\ud800"), "providerBusinessId"),
    9: (lambda r: raw(r)[:-1] + ', "hoursPerDay": 7}', "hoursPerDay"),
    17: (lambda r: raw(r, hoursPerDay=math.nan), "hoursPerDay"),
    23: (lambda r: spliced(r, "daysPerWeek", "1e999"), "daysPerWeek"),
    31: (lambda r: spliced(r, "hoursPerDay", "4" * 5000), "hoursPerDay"),
    40: (lambda r: raw(r, extra=nested(600)), "extra" + "[0]" * 29),
    46: (lambda r: without(r, "periodId"), "periodId"),
    52: (lambda r: json.dumps("not an object"), None),
    61: (lambda r: raw(r, modified=None), "modified"),
}


def to_case_system(hub: Hub) -> tuple[str, str, str]:
    """(exchange, source system, target system) of the shipped exchange that brings the
    employment authority's records to a social-welfare case system."""
    return next(
        (name, x.source, x.target)
        for name, x in hub.config.exchanges.items()
        if x.source_adapter == "te_office" and x.target_adapter == "municipal"
    )


def test_a_run_keeps_each_flawed_record_as_a_dead_letter_and_stores_the_rest_once(
    hub, hub_env, monkeypatch
):
    """Pages of 10: the flawed records cross pages and the reading worker's pipe."""
    name, source, _ = to_case_system(hub)
    exchange = hub.config.exchange(name)
    monkeypatch.setitem(hub.config.exchanges, exchange.name, replace(exchange, batch_size=10))
    periods = sandbox_periods()
    records = {str(i): build(periods[i]) for i, (build, _) in FLAWED_PERIODS.items()}
    hub_env.control(
        source, "hostile", "PUT", json={"stream": "service_periods", "records": records}
    )
    summary = run_exchange(hub, name)
    assert summary.state == "success_with_failures", summary.error
    contract = letters(hub, name, stage="read")
    assert sorted((f.field or "") for f in contract) == sorted(
        (field or "") for _, field in FLAWED_PERIODS.values()
    )
    assert all(f.error_class == "contract" and f.stream == "service_periods" for f in contract)
    assert not any(HETU_PATTERN.search(f.reason) for f in contract)
    breakers = {data.period_id(i, 0) for i in range(SANDBOX_SIZE) if data.is_rule_breaker(i, 0)}
    flawed = {periods[i]["periodId"] for i in FLAWED_PERIODS}
    want = sorted({p["periodId"] for p in periods} - flawed - breakers)
    assert stored_ids(hub, source, "ServiceEpisode") == want
    assert len(stored_ids(hub, source, "Client")) == SANDBOX_SIZE
    # a second run reads nothing again and keeps no letter twice
    again = run_exchange(hub, name)
    assert again.state == "success" and again.read == 0 and again.delivered == 0
    assert len(letters(hub, name, stage="read")) == len(FLAWED_PERIODS)


def test_a_page_cut_short_fails_the_run_as_transient_and_the_next_run_completes(
    hub, hub_env, monkeypatch
):
    monkeypatch.setattr(extract_module, "retrying", lambda attempts, _wait: retrying(attempts, 0))
    name, source, target = to_case_system(hub)
    attempts = hub.config.exchange(name).max_attempts
    hub_env.control(
        source, "hostile", "PUT", json={"stream": "service_periods", "cut_times": attempts}
    )
    first = run_exchange(hub, name)
    assert first.state == "failed" and "ends before it is complete" in first.error
    assert f"{source}/service_periods after (start)" in first.error
    assert len(stored_ids(hub, source, "Client")) == SANDBOX_SIZE  # read before: kept
    second = run_exchange(hub, name)  # the page is whole again; its rule breakers fail
    assert second.state == "success_with_failures", second.error
    breakers = {data.period_id(i, 0) for i in range(SANDBOX_SIZE) if data.is_rule_breaker(i, 0)}
    want = sorted({p["periodId"] for p in sandbox_periods()} - breakers)
    assert stored_ids(hub, source, "ServiceEpisode") == want
    assert len(stored_ids(hub, source, "ActivationPlan")) == SANDBOX_SIZE
    sent = hub_env.received(target)
    assert len(sent) == first.delivered + second.delivered
    assert len({s["idempotency_key"] for s in sent}) == len(sent)


# --- employment services, plan types, labour-policy statements ------------------------------
EMPLOYMENT_SERVICES = {
    "TYOKOKEILU": "work_trial",
    "PALKKATUKI": "pay_subsidy",
    "VALMENNUS": "coaching",
    "TYOVOIMAKOULUTUS": "labour_market_training",
}


def canonical(adapter, stream) -> list:
    return [adapter.stream(stream).to_canonical(r) for r in read_all(adapter, stream, None, 50)]


def test_employment_services_are_a_list_of_their_own_inside_the_rules(adapter, expected):
    rules = Rules.load(RULES)
    episodes = canonical(adapter, "employment_periods")
    assert len(episodes) == len(expected["employment_periods"]) == SIZE // 4
    assert {e.service_type for e in episodes} == set(EMPLOYMENT_SERVICES.values())
    assert {e.status for e in episodes} == {"planned", "active", "interrupted", "ended"}
    assert [v for e in episodes for v in rules.check(e)] == []
    # the KTT and social rehabilitation periods hold none, and an exchange that names no
    # stream of ServiceEpisode (te_office_to_municipal) still reads those alone
    periods = canonical(adapter, "service_periods")
    assert not {e.service_type for e in periods} & set(EMPLOYMENT_SERVICES.values())
    assert TeOfficeAdapter.stream_of("ServiceEpisode", writable=False).name == "service_periods"


@pytest.mark.parametrize(("code", "service"), sorted(EMPLOYMENT_SERVICES.items()))
@pytest.mark.parametrize("stream", ["employment_periods", "service_periods"])
def test_every_employment_service_code_translates_both_ways(
    adapter, expected, stream, code, service
):
    native = {**expected[stream][0], "serviceCode": code}
    episode = adapter.stream(stream).to_canonical(NativeRecord("P-1", native))
    assert episode.service_type == service
    assert adapter.stream(stream).to_native(episode.model_dump(mode="json")) == {
        k: v for k, v in native.items() if k not in (m.PERIOD_ID, m.MODIFIED)
    }


def work_trial(expected, **changes) -> NativeRecord:
    """An active work trial from 2 March 2026 as the service would serve it, changed."""
    served = next(p for p in expected["employment_periods"] if p["serviceCode"] == "TYOKOKEILU")
    native = {
        **{k: v for k, v in served.items() if k not in ("actualEndDate", "interruptionReason")},
        "status": "VOIMASSA",
        "decisionDate": "2026-02-16",
        "startDate": "2026-03-02",
        "plannedEndDate": "2026-06-01",
        **changes,
    }
    return NativeRecord(served[m.PERIOD_ID], native)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        # at every limit at once: 5 days, 4 and 8 hours, 12 months with the end date included
        ({m.DAYS_PER_WEEK: 5, "hoursPerDay": 4, "plannedEndDate": "2027-03-01"}, None, None),
        ({m.DAYS_PER_WEEK: 1, "hoursPerDay": 8}, None, None),
        ({m.DAYS_PER_WEEK: 6}, "days_per_week", "6 is above the maximum 5"),
        ({"hoursPerDay": 3.5}, "hours_per_day", "3.5 is below the minimum 4"),
        ({"hoursPerDay": 8.5}, "hours_per_day", "8.5 is above the maximum 8"),
        ({"plannedEndDate": "2027-03-02"}, "planned_end_date", "12 months and 1 day"),
    ],
)
def test_a_work_trial_outside_the_rules_is_a_rule_failure_naming_the_rule(
    adapter, expected, changes, field, words
):
    record = work_trial(expected, **changes)
    result = translate(adapter.stream("employment_periods"), Rules.load(RULES), record)
    if field is None:
        assert isinstance(result, Translated) and result.entity.service_type == "work_trial"
        return
    assert isinstance(result, Failure), result
    assert (result.stage, result.error_class, result.field) == ("validate", "rule", field)
    assert words in result.reason and "service_types.work_trial" in result.reason
    assert f"te_office/employment_periods/{record.native_id}" in result.reason
    assert not HETU_PATTERN.search(result.reason)


def test_plans_say_which_plan_they_are(adapter, expected):
    plans = canonical(adapter, "activation_plans")
    assert {p.plan_type for p in plans} == {
        "activation_plan",
        "multisectoral_employment_plan",
        "employment_plan",
    }
    for plan in plans:
        back = adapter.stream("activation_plans").to_native(plan.model_dump(mode="json"))
        assert back[m.PLAN_FIELDS["plan_type"]] == m.PLAN_TYPE_CODE_OF[plan.plan_type]
    served = expected["activation_plans"][0]
    for change in ({"planType": None}, {"planType": "TYOLLISTAMIS"}):
        with pytest.raises(RecordError) as info:
            adapter.stream("activation_plans").to_canonical(
                NativeRecord("AP-1", {**served, **change})
            )
        assert info.value.field == "planType"


def test_labour_policy_statements_are_read_in_pages_and_translate(adapter, expected):
    records = read_all(adapter, "labour_policy_statements", batch_size=7)
    assert ids(records) == [s["statementId"] for s in expected["labour_policy_statements"]]
    statements = [adapter.stream("labour_policy_statements").to_canonical(r) for r in records]
    assert all(isinstance(s, LabourPolicyStatement) for s in statements)
    assert {s.statement for s in statements} == {e.value for e in Eligibility}
    assert {s.benefit_type for s in statements} == {b.value for b in BenefitType}
    for s in statements:
        assert (s.reason is None) == (s.statement == "entitled")
        assert (s.valid_until is not None) == (s.statement == "period_without_benefit")
    retroactive = [s for s in statements if s.valid_from < s.issued_on]
    assert retroactive and len(retroactive) < len(statements)  # a statement may look back
    # translated back, a statement is the record as served (without its id and stamp)
    for record, statement in zip(records, statements, strict=True):
        back = adapter.stream("labour_policy_statements").to_native(
            statement.model_dump(mode="json")
        )
        assert back == {
            k: v for k, v in record.data.items() if k not in ("statementId", "modified")
        }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({m.PERSON_ID: None}, m.PERSON_ID, "is missing"),
        ({"statementCode": "EHKA"}, "statementCode", "known codes"),
        ({"benefitCode": None}, "benefitCode", "is missing"),
        ({"benefitCode": "KOTIHOIDONTUKI"}, "benefitCode", "known codes"),
        ({"issuedOn": None}, "issuedOn", "is missing"),
        ({"validFrom": ""}, "validFrom", "is missing"),
        ({"validFrom": "2026-03-01", "validUntil": "2026-02-28"}, None, "before valid_from"),
        ({"statementCode": "ESTE", "reason": None}, None, "reason is required"),
        (
            {"statementCode": "KORVAUKSETON-MAARAAIKA", "reason": "x", "validUntil": None},
            None,
            "valid_until is required",
        ),
    ],
)
def test_a_flawed_statement_fails_alone_naming_the_field(adapter, expected, change, field, words):
    served = expected["labour_policy_statements"][0]
    record = NativeRecord(served["statementId"], {**served, **change})
    failure = translate(adapter.stream("labour_policy_statements"), Rules.load(RULES), record)
    assert isinstance(failure, Failure)
    assert (failure.stage, failure.error_class) == ("translate", "invalid")
    assert field is None or failure.field == field
    assert words in failure.reason and not HETU_PATTERN.search(failure.reason)


def test_swedish_speaking_clients_get_swedish_text(adapter):
    swedish = {c.hetu for c in canonical(adapter, "clients") if c.language == "sv"}
    assert swedish, "the sandbox's people include Swedish speakers"
    own = {"sv": data.TEXTS["sv"], "fi": data.TEXTS["fi"]}
    seen = set()
    for plan in canonical(adapter, "activation_plans"):
        language = "sv" if plan.client_hetu in swedish else "fi"
        text = own[language]
        assert plan.goals == text["goals"] and plan.responsible_official == text["official"]
        assert plan.measures[1] == text["measures"][plan.plan_type]
        assert re.fullmatch(re.escape(text["ktt"]).replace(r"\{\}", "[1-4]"), plan.measures[0])
        seen.add(language)
    assert seen == {"sv", "fi"}
    assert own["sv"]["goals"] == ["Att stärka vardagshanteringen", "Att öva arbetslivsfärdigheter"]
    free_text = [
        (s.client_hetu, s.reason, own["sv"]["statement"].values(), own["fi"]["statement"].values())
        for s in canonical(adapter, "labour_policy_statements")
        if s.reason
    ] + [
        (e.client_hetu, e.interruption_reason, own["sv"]["ended_early"], own["fi"]["ended_early"])
        for e in canonical(adapter, "employment_periods")
        if e.interruption_reason
    ]
    for hetu, words, in_swedish, in_finnish in free_text:
        assert words in (in_swedish if hetu in swedish else in_finnish)
    swedish_reasons = {words for hetu, words, *_ in free_text if hetu in swedish}
    assert "Studier på heltid" in swedish_reasons


def test_employment_services_plans_and_statements_run_end_to_end(hub_env, tmp_path, monkeypatch):
    """Through a whole run into the hub's store: the employment services' periods (their
    stream named), plans with their type and the labour-policy statements, each stored once."""
    config = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    source = next(
        name
        for name, system in config["systems"].items()
        if system.get("adapter", name) == "te_office"
    )
    config["exchanges"] = {
        "te_office_employment_to_hub": {
            "source": source,
            "target": "hub",
            "schedule": None,
            "legal_basis": "Act on Organising Employment Services (380/2023): follow-up.",
            "batch_size": 9,
            "entities": [
                {
                    "entity": "ServiceEpisode",
                    "source_stream": "employment_periods",
                    "fields": ["client_hetu", "service_type", "start_date", "status"],
                },
                {"entity": "ActivationPlan", "fields": ["client_hetu", "plan_type", "goals"]},
                {"entity": "LabourPolicyStatement", "fields": STATEMENT_FIELDS},
            ],
        }
    }
    config["retention"].pop("exchanges", None)  # those periods name the shipped exchanges
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    monkeypatch.setenv("HUB_EXCHANGES", str(path))
    generated = data.generate(SANDBOX_SEED, SANDBOX_SIZE)
    hub = Hub.open()
    try:
        summary = run_exchange(hub, "te_office_employment_to_hub")
        assert summary.state == "success", summary.error
        assert summary.failed == 0 and summary.read == summary.upserted
        assert summary.read == sum(
            len(generated[s])
            for s in ("employment_periods", "activation_plans", "labour_policy_statements")
        )
        for entity, stream in (
            ("ServiceEpisode", "employment_periods"),
            ("ActivationPlan", "activation_plans"),
            ("LabourPolicyStatement", "labour_policy_statements"),
        ):
            want = sorted(r[m.ID_FIELD[stream]] for r in generated[stream])
            assert stored_ids(hub, source, entity) == want
        with hub.store.transaction() as conn:
            kept = [
                LabourPolicyStatement.model_validate(r.data)
                for r in records_store.iter_entity(conn, hub.keys, "LabourPolicyStatement")
            ]
        assert sorted(s.model_dump_json() for s in kept) == sorted(
            statements.statement_to_canonical("x", r).model_dump_json()
            for r in generated["labour_policy_statements"]
        )
        again = run_exchange(hub, "te_office_employment_to_hub")
        assert again.state == "success" and again.read == 0
    finally:
        hub.close()


#: the canonical fields of a labour-policy statement, as an exchange's ``fields:`` lists them
STATEMENT_FIELDS = [
    "client_hetu",
    "issued_on",
    "valid_from",
    "valid_until",
    "statement",
    "benefit_type",
    "reason",
]


# -- the conformance kit -------------------------------------------------------------------

from hub.testing.conformance import AdapterConformance  # noqa: E402


class TestTeOfficeConformance(AdapterConformance):
    system_id = "te_office"
    future_cursors = {stream: '["2999-01-01T00:00:00+00:00",""]' for stream in STREAMS}

    def write_samples(self, stream):
        from hub.synthetic import person

        if stream == "activation_plan_obligations":
            return obligation_samples([person(7, i).hetu for i in range(5)])
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


# --- activation-plan obligations: the hub -> the employment authority ----------------------
OBLIGATIONS = "activation_plan_obligations"
#: what the service adds to an item it keeps (the rest is what was sent)
ADDED = {"idempotency_key", m.O_KEY, m.O_ID}


def obligation_samples(hetus: list[str]) -> list[ActivationPlanObligation]:
    """One obligation per trigger: with and without a plan, the window assumed or not, due on
    the day it was met (the earliest the model allows)."""
    day = dt.date.fromisoformat
    shapes = [
        ("subsidy_days_under_25", "2026-09-30", "2026-10-30", 23, None, True),
        ("income_support_months_under_25", "2026-08-31", "2026-09-30", 19, "2026-09-15", False),
        ("subsidy_days_25_and_over", "2026-06-30", "2026-07-30", 41, None, False),
        ("subsidy_after_daily_allowance", "2026-07-31", "2026-08-30", 57, "2026-07-20", False),
        ("income_support_months_25_and_over", "2026-10-31", "2026-10-31", 30, None, False),
    ]
    return [
        ActivationPlanObligation(
            client_hetu=hetu,
            trigger=trigger,
            reached_on=day(reached),
            due_by=day(due),
            age_on_reached=age,
            has_plan=drawn is not None,
            plan_drawn_up=day(drawn) if drawn else None,
            window_assumed=window,
        )
        for hetu, (trigger, reached, due, age, drawn, window) in zip(hetus, shapes, strict=True)
    ]


def as_allowed(record: ActivationPlanObligation, *fields: str) -> dict:
    """The canonical JSON an exchange hands the stream: the allowed fields (all by default),
    without the empty ones."""
    dumped = record.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if v is not None and (not fields or k in fields)}


def obligation_item(adapter, key: str, record: ActivationPlanObligation, **native) -> WriteItem:
    payload = adapter.stream(OBLIGATIONS).to_native(as_allowed(record))
    return WriteItem(key, f"rec-{key}", {**payload, **native})


def kept_obligations(running) -> dict[str, dict]:
    """The obligations the sandbox holds, by key, as they were sent (the service's own
    additions taken off)."""
    return {
        e["idempotency_key"]: {k: v for k, v in e.items() if k not in ADDED}
        for e in received(running)
        if m.O_ID in e
    }


@pytest.fixture
def samples() -> list[ActivationPlanObligation]:
    from hub.synthetic import person

    return obligation_samples([person(3, i).hetu for i in range(5)])


def test_the_obligation_stream_is_written_and_carries_every_field_of_the_entity(adapter):
    stream = type(adapter).stream_class(OBLIGATIONS)
    assert stream.writable and not stream.readable and stream.entity is ActivationPlanObligation
    assert list(stream.carries) == list(ActivationPlanObligation.model_fields)
    assert type(adapter).stream_of("ActivationPlanObligation", writable=True) is stream
    assert set(m.OBLIGATION_FIELDS) == set(stream.carries)  # a native name for each field
    assert len(set(m.OBLIGATION_FIELDS.values())) == len(m.OBLIGATION_FIELDS)
    assert sorted(m.TRIGGER_CODES.values()) == sorted(t.value for t in ObligationTrigger)
    assert obligations.WINDOWED_CODES == {"TMT180-ALLE25", "TMT180-PR-JALKEEN"}
    assert stream.path == m.PATH_OBLIGATIONS == "/activation-plan-obligations"


def test_obligations_are_written_over_http_and_received_as_sent(adapter, running, samples):
    items = [obligation_item(adapter, f"ob{i}", s) for i, s in enumerate(samples)]
    outcomes = adapter.stream(OBLIGATIONS).write(items)
    assert [o.outcome for o in outcomes] == [Outcome.OK] * 5
    assert [o.native_id for o in outcomes] == [f"AV-{i:06d}" for i in range(1, 6)]
    kept = kept_obligations(running)
    assert list(kept) == [i.idempotency_key for i in items]
    for item, sample in zip(items, samples, strict=True):
        got = kept[item.idempotency_key]
        assert got == item.payload  # as sent, nothing added or lost
        assert set(got) <= set(m.OBLIGATION_FIELDS.values())  # only the carried fields
        assert obligations.obligation_to_canonical("x", got) == sample
    first = kept["ob0"]
    assert first[m.PERSON_ID] == samples[0].client_hetu
    assert first["velvoiteperuste"] == "TMT180-ALLE25"
    assert (first["tayttymispaiva"], first["maaraaika"]) == ("2026-09-30", "2026-10-30")
    assert first["suunnitelmaLaadittu"] is False and "suunnitelmanLaatimispaiva" not in first
    assert first["tarkastelujaksoOletettu"] is True and first["ikaTayttymispaivana"] == 23
    assert kept["ob1"]["suunnitelmanLaatimispaiva"] == "2026-09-15"


def test_an_obligation_holds_only_what_the_exchange_allows(adapter, running, samples):
    allowed = ("client_hetu", "trigger", "reached_on", "due_by", "has_plan")
    payload = adapter.stream(OBLIGATIONS).to_native(as_allowed(samples[0], *allowed))
    [outcome] = adapter.stream(OBLIGATIONS).write([WriteItem("few", "r1", payload)])
    assert outcome.outcome == Outcome.OK
    assert set(kept_obligations(running)["few"]) == {m.OBLIGATION_FIELDS[f] for f in allowed}


def test_a_repeated_obligation_key_gives_the_earlier_result_and_stores_nothing(
    adapter, running, samples
):
    items = [obligation_item(adapter, f"rep{i}", s) for i, s in enumerate(samples[:2])]
    first = adapter.stream(OBLIGATIONS).write(items)
    later = replace(items[0], payload={**items[0].payload, "maaraaika": "2026-12-31"})
    again = adapter.stream(OBLIGATIONS).write([items[1], later])
    assert [o.outcome for o in first + again] == [Outcome.OK] * 4
    assert [o.native_id for o in again] == [first[1].native_id, first[0].native_id]
    kept = kept_obligations(running)
    assert list(kept) == ["rep0", "rep1"] and kept["rep0"]["maaraaika"] == "2026-10-30"
    # the answer itself, over plain HTTP: the earlier item's id, marked a duplicate
    body = {m.BATCH_OBLIGATIONS: [{**items[0].payload, m.O_KEY: "rep0"}]}
    answer = httpx.post(
        f"{running.base_url}{m.PATH_OBLIGATIONS}", json=body, headers=CLIENT, trust_env=False
    )
    assert answer.status_code == 200 and answer.headers[m.H_REQUEST_ID]
    [result] = answer.json()[m.BATCH_RESULTS]
    assert result == {m.O_KEY: "rep0", m.R_RESULT: m.RESULT_DUPLICATE, m.O_ID: "AV-000001"}
    assert len(kept_obligations(running)) == 2


def test_concurrent_repeats_store_each_obligation_once(adapter, running, samples):
    items = [obligation_item(adapter, f"cc{i}", s) for i, s in enumerate(samples)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: adapter.stream(OBLIGATIONS).write(items), range(6)))
    assert all(o.outcome == Outcome.OK for batch in results for o in batch)
    assert sorted(kept_obligations(running)) == [f"cc{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({m.PERSON_ID: "010190-999X"}, m.PERSON_ID),
        ({"velvoiteperuste": "TMT999"}, "velvoiteperuste"),
        ({"velvoiteperuste": "subsidy_days_under_25"}, "velvoiteperuste"),
        ({"maaraaika": "2026-09-29"}, "maaraaika"),
        ({"tayttymispaiva": "30.9.2026"}, "tayttymispaiva"),
        ({"maaraaika": "2026-02-30"}, "maaraaika"),
        ({"ikaTayttymispaivana": -1}, "ikaTayttymispaivana"),
        ({"ikaTayttymispaivana": "23"}, "ikaTayttymispaivana"),
        ({"suunnitelmaLaadittu": "false"}, "suunnitelmaLaadittu"),
        ({"suunnitelmanLaatimispaiva": "2026-09-15"}, "suunnitelmanLaatimispaiva"),
        ({"tarkastelujaksoOletettu": "kyllä"}, "tarkastelujaksoOletettu"),
        ({"velvoiteperuste": "TOTU4KK-ALLE25"}, "tarkastelujaksoOletettu"),
        ({"sukunimi": "Testinen"}, "sukunimi"),
    ],
)
def test_an_invalid_obligation_is_refused_alone_naming_the_field(
    adapter, running, samples, change, field
):
    good = [obligation_item(adapter, f"g{i}", s) for i, s in enumerate(samples[1:3])]
    bad = obligation_item(adapter, "bad", samples[0], **change)
    outcomes = adapter.stream(OBLIGATIONS).write([good[0], bad, good[1]])
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.PERMANENT, Outcome.OK]
    assert field in outcomes[1].reason and "rejected by the employment authority" in (
        outcomes[1].reason
    )
    assert not HETU_PATTERN.search(outcomes[1].reason)
    assert list(kept_obligations(running)) == ["g0", "g1"]
    # fixed, the same key is judged afresh and accepted
    fixed = adapter.stream(OBLIGATIONS).write([obligation_item(adapter, "bad", samples[0])])
    assert fixed[0].outcome == Outcome.OK and "bad" in kept_obligations(running)


def test_the_sandbox_judges_items_the_adapter_would_not_send(running, samples):
    def post(*items: dict) -> list[dict]:
        answer = httpx.post(
            f"{running.base_url}{m.PATH_OBLIGATIONS}",
            json={m.BATCH_OBLIGATIONS: list(items)},
            headers=CLIENT,
            trust_env=False,
        )
        assert answer.status_code == 200
        return answer.json()[m.BATCH_RESULTS]

    native = obligations.obligation_to_native(as_allowed(samples[0]))
    no_date = {**native, "suunnitelmaLaadittu": True, m.O_KEY: "nd"}
    no_due = {k: v for k, v in native.items() if k != "maaraaika"} | {m.O_KEY: "nm"}
    results = post(no_date, no_due, native, {**native, m.O_KEY: "ok"})
    assert [r[m.R_RESULT] for r in results] == ["rejected", "rejected", "rejected", "accepted"]
    assert "suunnitelmanLaatimispaiva" in results[0][m.R_REASON]
    assert "maaraaika" in results[1][m.R_REASON] and m.O_KEY in results[2][m.R_REASON]
    assert list(kept_obligations(running)) == ["ok"]


@pytest.mark.parametrize(
    ("left_out", "has_plan", "named"),
    [
        ("client_hetu", False, "client_hetu"),
        ("trigger", False, "trigger"),
        ("reached_on", False, "reached_on"),
        ("due_by", False, "due_by"),
        ("has_plan", False, "has_plan"),
        ("plan_drawn_up", True, "plan_drawn_up"),
    ],
)
def test_an_obligation_without_a_field_it_needs_is_not_sent(
    adapter, running, samples, left_out, has_plan, named
):
    record = samples[1] if has_plan else samples[0]
    allowed = [f for f in ActivationPlanObligation.model_fields if f != left_out]
    payload = adapter.stream(OBLIGATIONS).to_native(as_allowed(record, *allowed))
    [outcome] = adapter.stream(OBLIGATIONS).write([WriteItem("short", "r1", payload)])
    assert outcome.outcome == Outcome.PERMANENT and f"field {named} is missing" in outcome.reason
    assert not HETU_PATTERN.search(outcome.reason)
    assert kept_obligations(running) == {}


def test_obligation_writes_meet_the_faults_of_every_endpoint(adapter, running, samples):
    items = [obligation_item(adapter, f"f{i}", s) for i, s in enumerate(samples[:3])]
    faults(running, unavailable=True, retry_after=4)
    with pytest.raises(TransientError) as info:
        adapter.stream(OBLIGATIONS).write(items)
    assert info.value.status == 503 and info.value.retry_after == 4
    faults(running, rate_limit_every=1, retry_after=6)
    with pytest.raises(TransientError) as info:
        adapter.stream(OBLIGATIONS).write(items)
    assert info.value.status == 429 and info.value.retry_after == 6
    faults(running, reject_writes=True)
    refused = adapter.stream(OBLIGATIONS).write(items)
    assert [o.outcome for o in refused] == [Outcome.PERMANENT] * 3
    assert all("refused" in o.reason for o in refused) and kept_obligations(running) == {}
    faults(running)
    hostile(running, answer="<html>Gateway Timeout</html>")
    with pytest.raises(TransientError, match="sending again with the same keys is safe"):
        adapter.stream(OBLIGATIONS).write(items)
    hostile(running)
    assert {o.outcome for o in adapter.stream(OBLIGATIONS).write(items)} == {Outcome.OK}
    assert sorted(kept_obligations(running)) == ["f0", "f1", "f2"]
    refused = httpx.post(
        f"{running.base_url}{m.PATH_OBLIGATIONS}", json={"x": []}, headers=CLIENT, trust_env=False
    )
    assert refused.status_code == 400 and refused.headers[m.H_ERROR] == m.ERR_BAD_REQUEST


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"velvoiteperuste": "TMT999"}, "velvoiteperuste"),
        ({"ikaTayttymispaivana": 23.5}, "ikaTayttymispaivana"),
        ({"ikaTayttymispaivana": None}, "ikaTayttymispaivana"),
        ({"suunnitelmaLaadittu": 1}, "suunnitelmaLaadittu"),
        ({"tarkastelujaksoOletettu": "true"}, "tarkastelujaksoOletettu"),
        ({m.PERSON_ID: None}, m.PERSON_ID),
    ],
)
def test_an_obligation_read_back_names_the_native_field(adapter, samples, change, field):
    native = {**adapter.stream(OBLIGATIONS).to_native(as_allowed(samples[0])), **change}
    native = {k: v for k, v in native.items() if v is not None}
    with pytest.raises(RecordError) as caught:
        adapter.stream(OBLIGATIONS).to_canonical(NativeRecord("AV-1", native))
    assert caught.value.field == field and not HETU_PATTERN.search(str(caught.value))


@settings(max_examples=60, deadline=None)
@given(
    trigger=st.sampled_from(list(ObligationTrigger)),
    reached=st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)),
    wait=st.integers(0, 120),
    age=st.integers(16, 70),
    drawn=st.one_of(st.none(), st.integers(-90, 120)),
    window=st.booleans(),
)
def test_every_obligation_translates_both_ways(trigger, reached, wait, age, drawn, window):
    record = ActivationPlanObligation(
        client_hetu=HETU,
        trigger=trigger,
        reached_on=reached,
        due_by=reached + dt.timedelta(days=wait),
        age_on_reached=age,
        has_plan=drawn is not None,
        plan_drawn_up=None if drawn is None else reached + dt.timedelta(days=drawn),
        window_assumed=window and trigger in WINDOWED,
    )
    native = obligations.obligation_to_native(as_allowed(record))
    assert obligations.obligation_to_canonical("x", native) == record
    assert obligations.problem("k", native) is None
