"""The reading worker (hub.engine.reader): an extract read and prepared in a forked process
stores exactly what the same extract read in one process stores; its errors, its log records
and its end reach the parent; it never outlives the read."""

import dataclasses
import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import select

import hub.engine.extract as extract_module
import hub.engine.reader as reader
from hub.engine import Hub
from hub.engine.extract import extract
from hub.engine.workers import can_fork
from hub.errors import TransientError
from hub.exchanges import streams_of
from hub.store import runs
from hub.store import schema as t
from hub.synthetic import person

EXCHANGE = "employment_authority_to_county"

pytestmark = pytest.mark.skipif(not can_fork(), reason="the worker needs fork (Linux)")


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def exchange(hub, **changes):
    return dataclasses.replace(hub.config.exchange(EXCHANGE), **changes)


def children() -> set[int]:
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


def stored(hub) -> dict[str, tuple[int, str]]:
    with hub.store.transaction() as conn:
        rows = conn.execute(select(t.records.c.id, t.records.c.version, t.records.c.content_hash))
        return {rid: (version, digest) for rid, version, digest in rows}


def forget_cursors(hub, x) -> None:
    with hub.store.transaction() as conn:
        for flow in x.entities:
            runs.set_cursor(conn, x.name, streams_of(x, flow)[0], None)


def test_the_worker_stores_what_one_process_stores(hub):
    before = children()
    # batches of 7: the first is read here, the worker reads the rest
    extract(hub, exchange(hub, parallel=True, batch_size=7), None)
    first = stored(hub)
    assert first and children() == before  # the worker was reaped
    # read again from the start, in one process: every record is the same, nothing changes
    forget_cursors(hub, exchange(hub))
    extract(hub, exchange(hub, parallel=False), None)
    assert stored(hub) == first
    # and again with batches larger than the streams: all read here, no worker
    forget_cursors(hub, exchange(hub))
    extract(hub, exchange(hub, parallel=True, batch_size=10_000), None)
    assert stored(hub) == first


def test_a_failure_of_the_source_reaches_the_parent_and_is_retried(hub, hub_env):
    hub_env.faults("employment_authority", unavailable_every=2, retry_after=0)
    # every other request fails: each attempt keeps what it read, the next goes on from there
    extract(hub, exchange(hub, batch_size=5, max_attempts=40, max_wait_seconds=0.01), None)
    assert stored(hub)
    hub_env.faults("employment_authority", unavailable_every=1, retry_after=0)
    before = children()
    with pytest.raises(TransientError, match="503"):
        extract(hub, exchange(hub, batch_size=5, max_attempts=2, max_wait_seconds=0.1), None)
    assert children() == before


def test_what_was_read_before_the_source_failed_is_kept(hub, hub_env):
    hub_env.faults("employment_authority", unavailable_every=3, retry_after=0)
    with pytest.raises(TransientError):
        extract(hub, exchange(hub, batch_size=5, max_attempts=1), None)
    kept = stored(hub)
    assert len(kept) == 10  # two pages of five were read and committed before the third failed
    with hub.store.transaction() as conn:
        assert runs.get_cursor(conn, EXCHANGE, "clients") is not None
    hub_env.faults(
        "employment_authority"
    )  # the source is back: the next run goes on from the cursor
    extract(hub, exchange(hub, batch_size=5), None)
    assert set(kept) < set(stored(hub))


def test_log_records_of_the_worker_are_logged_here_without_identity_codes(hub, caplog, monkeypatch):
    hetu = person(1, 3).hetu
    translate = reader.translate

    def chatty(stream, rules, record):
        logging.getLogger("hub.test.worker").warning("translating for %s in %d", hetu, os.getpid())
        return translate(stream, rules, record)

    monkeypatch.setattr(reader, "translate", chatty)
    with caplog.at_level(logging.WARNING, logger="hub.test.worker"):
        extract(hub, exchange(hub, batch_size=5), None)
    seen = [r.getMessage() for r in caplog.records if r.name == "hub.test.worker"]
    by_worker = [m for m in seen if not m.endswith(f" in {os.getpid()}")]
    assert by_worker, "the worker's records were logged in this process"
    assert all(hetu not in m and "[identity code removed]" in m for m in by_worker)


def test_the_worker_is_stopped_when_storing_fails(hub, monkeypatch):
    write_batch = extract_module.write_batch
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return write_batch(*args, **kwargs)

    monkeypatch.setattr(extract_module, "write_batch", failing)
    before = children()
    with pytest.raises(RuntimeError, match="disk full"):
        extract(hub, exchange(hub, batch_size=5, max_attempts=1), None)
    assert children() == before
    # nothing of the failed transaction was kept: the next run starts where the last commit
    # left off and stores everything
    monkeypatch.setattr(extract_module, "write_batch", write_batch)
    extract(hub, exchange(hub), None)
    assert stored(hub)
