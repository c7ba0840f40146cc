"""The employment authority adapter against its sandbox, over real HTTP."""

import httpx
import pytest
from hub_te_office.adapter import decode_cursor, encode_cursor
from hub_te_office.mapping import ID_FIELD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.adapter import Outcome, SystemConfig, WriteItem
from hub.errors import RecordError, TransientError
from hub.plugins import adapter_registry, sandbox_registry
from hub.privacy import HETU_PATTERN
from hub.testing.fixtures import SANDBOX_SIZE

STREAMS = ["clients", "service_periods", "activation_plans"]


@pytest.fixture
def adapter(sandboxes):
    running = sandboxes["te_office"]
    config = SystemConfig(
        "te_office",
        running.base_url,
        sandbox_registry()["te_office"].adapter_options,
        timeout=10,
        deadline=30,
    )
    a = adapter_registry()["te_office"](config)
    yield a
    a.close()


def read_all(adapter, stream, cursor=None, batch_size=7):
    return [r for b in adapter.read(stream, cursor, batch_size) for r in b.records]


def test_check(adapter):
    assert adapter.check().ok
    closed = adapter_registry()["te_office"](SystemConfig("te_office", "http://127.0.0.1:9", {}))
    result = closed.check()
    assert not result.ok and "ConnectError" in result.detail


@pytest.mark.parametrize("stream", STREAMS)
def test_paging_reads_every_record_once(adapter, stream):
    ids = [r.native_id for r in read_all(adapter, stream)]
    assert len(ids) == len(set(ids)) > 0
    if stream == "clients":
        assert len(ids) == SANDBOX_SIZE


@given(batch=st.integers(min_value=1, max_value=40), split=st.integers(min_value=0, max_value=30))
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_resume_from_any_cursor_loses_and_repeats_nothing(adapter, batch, split):
    everything = [r.native_id for r in read_all(adapter, "service_periods", batch_size=50)]
    batches = list(adapter.read("service_periods", None, batch))
    cut = min(split, len(batches) - 1)
    first = [r.native_id for b in batches[: cut + 1] for r in b.records]
    rest = [
        r.native_id for r in read_all(adapter, "service_periods", batches[cut].next_cursor, batch)
    ]
    assert first + rest == everything


def test_future_cursor_yields_nothing(adapter):
    assert read_all(adapter, "clients", encode_cursor("2999-01-01T00:00:00Z", "")) == []


@given(
    st.text(min_size=0, max_size=30),
    st.text(min_size=0, max_size=20).filter(lambda s: "|" not in s),
)
def test_cursor_round_trip(modified, record_id):
    modified = modified.replace("|", "")
    assert decode_cursor(encode_cursor(modified, record_id)) == (modified, record_id)


def test_xroad_headers(sandboxes):
    url = sandboxes["te_office"].base_url + "/clients"
    refused = httpx.get(url, trust_env=False)
    assert refused.status_code == 400
    assert refused.headers["X-Road-Error"] == "Client.InvalidClientHeader"
    assert set(refused.json()) == {"type", "message", "detail"}
    ok = httpx.get(
        url,
        headers={"X-Road-Client": "FI-TEST/MUN/0211675-2/hub", "X-Road-Id": "abc"},
        trust_env=False,
    )
    assert ok.status_code == 200
    assert ok.headers["X-Road-Id"] == "abc"
    assert ok.headers["X-Road-Request-Id"] and ok.headers["X-Road-Request-Hash"]


def test_rate_limit_and_outage_are_transient(adapter, sandboxes):
    sandboxes.faults("te_office", rate_limit_every=1, retry_after=2)
    with pytest.raises(TransientError) as info:
        read_all(adapter, "clients")
    assert info.value.status == 429 and info.value.retry_after == 2
    assert "RateLimited" in str(info.value)
    sandboxes.faults("te_office", unavailable=True)
    with pytest.raises(TransientError) as info:
        read_all(adapter, "clients")
    assert info.value.status == 503


def test_slow_responses_hit_the_deadline(sandboxes):
    sandboxes.faults("te_office", slow_seconds=2)
    running = sandboxes["te_office"]
    config = SystemConfig("te_office", running.base_url, {}, timeout=0.5, deadline=1)
    with (
        adapter_registry()["te_office"](config) as a,
        pytest.raises(TransientError, match="timed out"),
    ):
        read_all(a, "clients")


@pytest.mark.parametrize("stream", STREAMS)
def test_malformed_records_name_the_field_never_the_person(adapter, sandboxes, stream):
    sandboxes.faults("te_office", malformed_every=3)
    errors = []
    for record in read_all(adapter, stream):
        try:
            adapter.to_canonical(stream, record)
        except (RecordError, ValidationError) as exc:
            errors.append(str(exc))
    assert errors
    assert not any(HETU_PATTERN.search(e) for e in errors)
    assert all(("daysPerWeek" in e) or ("hetu" in e) for e in errors)


def test_translations(adapter):
    periods = {r.native_id: r for r in read_all(adapter, "service_periods")}
    episodes = {i: adapter.to_canonical("service_periods", r) for i, r in periods.items()}
    assert any(e.days_per_week == 5 for e in episodes.values())  # the deliberate rule breaker
    for native_id, episode in episodes.items():
        back = adapter.to_native("service_periods", episode.model_dump(mode="json"))
        again = adapter.to_canonical("service_periods", type(periods[native_id])(native_id, back))
        assert again == episode  # canonical -> native -> canonical without loss


def notification(adapter, status, **extra):
    record = {
        "client_hetu": "010190-999W",
        "service_type": "rehabilitative_work_activity",
        "status": status,
        "start_date": "2026-02-01",
        **extra,
    }
    return adapter.to_native("period_notifications", record)


def test_write_notifications_idempotently(adapter, sandboxes):
    items = [
        WriteItem("k1", "r1", notification(adapter, "active")),
        WriteItem("k2", "r2", notification(adapter, "ended", actual_end_date="2026-05-01")),
        WriteItem("k3", "r3", notification(adapter, "planned")),
    ]
    outcomes = adapter.write("period_notifications", items)
    assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.OK, Outcome.SKIPPED]
    again = adapter.write("period_notifications", items)
    assert [o.outcome for o in again] == [Outcome.OK, Outcome.OK, Outcome.SKIPPED]
    received = sandboxes.received("te_office")
    assert sorted(n["idempotencyKey"] for n in received) == ["k1", "k2"]
    assert {n["event"] for n in received} == {"STARTED", "ENDED"}


def test_missing_fields_and_rejections_are_permanent(adapter, sandboxes):
    with pytest.raises(RecordError, match="interruption_reason"):
        notification(adapter, "interrupted", actual_end_date="2026-03-01")
    sandboxes.faults("te_office", reject_writes=True)
    outcomes = adapter.write(
        "period_notifications", [WriteItem("k9", "r9", notification(adapter, "active"))]
    )
    assert outcomes[0].outcome == Outcome.PERMANENT and "refused" in outcomes[0].reason
    assert sandboxes.received("te_office") == []


def test_ids_are_native_not_identity_codes(adapter):
    for stream in STREAMS:
        for record in read_all(adapter, stream):
            assert not HETU_PATTERN.search(record.native_id)
            assert record.native_id == record.data[ID_FIELD[stream]]
