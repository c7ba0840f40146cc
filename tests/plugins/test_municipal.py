"""The municipal case-system adapter against its sandbox, over real HTTP."""

import httpx
import pytest
from hub_municipal.adapter import decode_cursor, encode_cursor
from hub_municipal.xmlformat import q, schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hub import sandbox as sb
from hub.adapter import NativeRecord, Outcome, SystemConfig, WriteItem
from hub.errors import PermanentError, TransientError
from hub.plugins import adapter_registry, sandbox_registry
from hub.privacy import HETU_PATTERN
from hub.testing.fixtures import SANDBOX_SIZE
from hub.xmlsafe import iter_elements

STREAMS = ["clients", "service_episodes", "activation_plans"]


def make(base_url: str):
    return adapter_registry()["municipal"](
        SystemConfig("municipal", base_url, {"municipality_code": "743"}, timeout=10, deadline=60)
    )


@pytest.fixture
def adapter(sandboxes):
    a = make(sandboxes["municipal"].base_url)
    yield a
    a.close()


def read_all(adapter, stream, cursor=None, batch_size=7):
    return [r for b in adapter.read(stream, cursor, batch_size) for r in b.records]


def test_check(adapter):
    assert adapter.check().ok
    assert not make("http://127.0.0.1:9").check().ok


@pytest.mark.parametrize("stream", STREAMS)
def test_reads_every_record_once_across_exports(adapter, stream):
    ids = [r.native_id for r in read_all(adapter, stream)]
    assert len(ids) == len(set(ids)) > 0
    if stream != "activation_plans":
        assert len(ids) == SANDBOX_SIZE
    for record in read_all(adapter, stream):
        adapter.to_canonical(stream, record)


@given(batch=st.integers(min_value=1, max_value=30), split=st.integers(min_value=0, max_value=20))
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_resume_from_any_cursor(adapter, batch, split):
    everything = [r.native_id for r in read_all(adapter, "service_episodes", batch_size=100)]
    batches = list(adapter.read("service_episodes", None, batch))
    cut = min(split, len(batches) - 1)
    first = [r.native_id for b in batches[: cut + 1] for r in b.records]
    rest = [
        r.native_id for r in read_all(adapter, "service_episodes", batches[cut].next_cursor, batch)
    ]
    assert first + rest == everything
    assert read_all(adapter, "service_episodes", batches[-1].next_cursor) == []


@given(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[0-9]{3})?", fullmatch=True),
    st.one_of(st.integers(min_value=0, max_value=10**6), st.just("done")),
)
def test_cursor_round_trip(export_id, position):
    decoded = decode_cursor(encode_cursor(export_id, position))
    assert decoded == (export_id, None if position == "done" else position)


def test_exports_are_valid_against_the_xsd(sandboxes):
    base = sandboxes["municipal"].url
    for export in httpx.get(f"{base}/exports", trust_env=False).json()["exports"]:
        body = httpx.get(f"{base}/exports/{export['id']}", trust_env=False).content
        assert schema().validate(__import__("lxml.etree").etree.fromstring(body))


def test_faults_are_transient(adapter, sandboxes):
    sandboxes.faults("municipal", rate_limit_every=1, retry_after=3)
    with pytest.raises(TransientError) as info:
        read_all(adapter, "clients")
    assert info.value.status == 429 and info.value.retry_after == 3
    sandboxes.faults("municipal", unavailable=True)
    with pytest.raises(TransientError):
        read_all(adapter, "clients")


def test_malformed_episodes_fail_the_model_without_personal_data(adapter, sandboxes):
    sandboxes.faults("municipal", malformed_every=5)
    errors = []
    for record in read_all(adapter, "service_episodes"):
        try:
            adapter.to_canonical("service_episodes", record)
        except ValidationError as exc:
            errors.append(str(exc))
    assert errors and all("actual_end_date is before start_date" in e for e in errors)
    assert not any(HETU_PATTERN.search(e) for e in errors)


class _BadExport:
    """A server whose export is not valid against the XSD, or carries a DTD."""

    def __init__(self, body: bytes):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def listing(request):
            return JSONResponse({"exports": [{"id": "2026-11-20"}]})

        async def export(request):
            return Response(body, media_type="application/xml")

        self.app = Starlette(routes=[Route("/exports", listing), Route("/exports/{x}", export)])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            b'<export xmlns="urn:fi:hub:municipal:1" exportId="x" municipality="743" '
            b'generated="2026-11-20T23:30:00Z"><episode><hetu>1</hetu></episode></export>',
            "case-system.xsd",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE export [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<export xmlns="urn:fi:hub:municipal:1">&x;</export>',
            "DOCTYPE",
        ),
    ],
    ids=["invalid", "xxe"],
)
def test_bad_exports_are_refused(body, words):
    spec = sb.Sandbox("bad", "bad", lambda **_: _BadExport(body).app, 0)
    running = sb.start(spec)
    try:
        with make(running.url) as a, pytest.raises(PermanentError, match=words):
            read_all(a, "service_episodes")
    finally:
        running.stop()


def episode_payload(adapter, **over):
    record = {
        "client_hetu": "010190-999W",
        "service_type": "rehabilitative_work_activity",
        "status": "planned",
        "decision_date": "2026-01-02",
        "days_per_week": 3,
        "hours_per_day": 6.0,
        **over,
    }
    return adapter.to_native("service_episodes", record)


def test_write_is_idempotent_and_appears_in_next_export(adapter, sandboxes):
    items = [WriteItem(f"k{i}", f"r{i}", episode_payload(adapter)) for i in range(3)]
    first = adapter.write("service_episodes", items)
    assert all(o.outcome == Outcome.OK and o.native_id for o in first)
    again = adapter.write("service_episodes", items)
    assert [o.native_id for o in again] == [o.native_id for o in first]
    assert len(sandboxes.received("municipal")) == 3

    before = read_all(adapter, "service_episodes")
    cursor = list(adapter.read("service_episodes", None, 1000))[-1].next_cursor
    sandboxes.control("municipal", "nightly", "POST")
    new = read_all(adapter, "service_episodes", cursor)
    assert sorted(r.native_id for r in new) == sorted(o.native_id for o in first)
    assert len(before) == SANDBOX_SIZE
    episode = adapter.to_canonical("service_episodes", NativeRecord(new[0].native_id, new[0].data))
    assert episode.days_per_week == 3 and episode.hours_per_day == 6.0


def test_missing_required_field_and_rejections_are_permanent(adapter, sandboxes):
    payload = adapter.to_native(
        "service_episodes", {"client_hetu": "010190-999W", "status": "active"}
    )
    outcome = adapter.write("service_episodes", [WriteItem("k1", "r1", payload)])[0]
    assert outcome.outcome == Outcome.PERMANENT and "serviceCode" in outcome.reason
    sandboxes.faults("municipal", reject_writes=True)
    outcome = adapter.write("service_episodes", [WriteItem("k2", "r2", episode_payload(adapter))])[
        0
    ]
    assert outcome.outcome == Outcome.PERMANENT and "refused" in outcome.reason
    assert sandboxes.received("municipal") == []


def test_streaming_memory_is_flat():
    """50 000 episodes (with their clients and plans, over 30 MB) stream through the
    validating parser while the tree never holds more than a chunk's worth of records."""
    spec = sandbox_registry()["municipal"]
    running = sb.start(spec, size=150_000)
    try:
        size = 0
        with httpx.stream("GET", f"{running.url}/exports/2026-11-20", trust_env=False) as r:
            chunks = list(r.iter_bytes())
            size = sum(len(c) for c in chunks)
        count, widest = 0, 0
        for elem in iter_elements(iter(chunks), q("episode"), schema=schema()):
            count += 1
            # lxml's memory is C memory (tracemalloc cannot see it); what it holds is the
            # tree, so the tree must stay as small as one network chunk of records
            widest = max(widest, len(elem.getparent()))
    finally:
        running.stop()
    assert count == 50_000
    assert size > 30_000_000
    assert widest < 300
