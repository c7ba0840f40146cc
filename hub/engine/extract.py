"""Extract: read a source since its cursor, translate, validate and upsert, batch by batch.

Each batch is one transaction: records, identity links, outbox entries, dead letters, the
access log, the batch's statistics and the new cursor are committed together. A process
killed at any point therefore resumes from the last committed cursor, and re-reading a
record that was already stored changes nothing (same content hash).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.adapter import Adapter, Batch
from hub.engine.context import Hub
from hub.engine.retry import retrying
from hub.engine.translate import Translated, native_ref, translate
from hub.exchanges import HUB, EntityFlow, Exchange, streams_of
from hub.store import audit, deadletters, outbox, records, runs
from hub.store.deadletters import Failure
from hub.store.runs import BatchStats

log = logging.getLogger(__name__)


def store_batch(
    hub: Hub,
    system: str,
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    items: Sequence[Translated | Failure],
    run_id: str | None,
    *,
    cursor: tuple[str | None] | None,
) -> BatchStats:
    """Commit one batch of translated records and failures (and the cursor, if given)."""
    good = [i for i in items if isinstance(i, Translated)]
    failures = [i for i in items if isinstance(i, Failure)]
    with hub.store.transaction() as conn:
        result = records.upsert(
            conn,
            hub.keys,
            system,
            [records.Incoming(t.record.native_id, t.entity) for t in good],
        )
        if result.changed:
            outbox.enqueue(conn, hub.config.readers_of(system, flow.entity), result.changed)
        deadletters.add(conn, hub.keys, exchange.name, run_id, failures)
        deadletters.resolve_for(
            conn,
            exchange.name,
            [native_ref(system, stream, t.record.native_id) for t in good],
            "went through on a later read",
        )
        audit.log_access(
            conn,
            actor=f"exchange:{exchange.name}",
            action="receive",
            purpose=f"received from {system}/{stream} under: {exchange.legal_basis}",
            items=[audit.Access(subject, rid) for _, rid, subject in result.ids if subject],
            exchange=exchange.name,
        )
        stats = BatchStats(
            read=len(items),
            upserted=len(result.changed),
            unchanged=result.unchanged,
            failed=len(failures),
        )
        if run_id:
            runs.record_batch(conn, run_id, "extract", stream, stats, cursor[0] if cursor else None)
        if cursor is not None:
            runs.set_cursor(conn, exchange.name, stream, cursor[0])
    return stats


def _read_stream(
    hub: Hub,
    adapter: Adapter,
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    run_id: str | None,
) -> BatchStats:
    total = BatchStats()
    with hub.store.transaction() as conn:
        cursor = runs.get_cursor(conn, exchange.name, stream)
    batch: Batch
    for batch in adapter.read(stream, cursor, exchange.batch_size):
        items = [
            translate(adapter, stream, flow.entity, hub.rules, record) for record in batch.records
        ]
        stats = store_batch(
            hub,
            adapter.system_id,
            exchange,
            flow,
            stream,
            items,
            run_id,
            cursor=(batch.next_cursor,),
        )
        total.add(stats)
        log.info(
            "%s: %s/%s batch: %d read, %d new or changed, %d unchanged, %d failed",
            exchange.name,
            adapter.system_id,
            stream,
            stats.read,
            stats.upserted,
            stats.unchanged,
            stats.failed,
        )
    return total


def extract(hub: Hub, exchange: Exchange, run_id: str | None) -> None:
    """Extract every entity of ``exchange`` from its source. A transient failure restarts the
    stream from its last committed cursor, with backoff, up to the exchange's attempts.
    Counts accumulate in the run record, batch by batch. With the hub as the source, the
    records are derived from the store instead (:mod:`hub.engine.derive`)."""
    if exchange.source == HUB:
        from hub.engine.derive import derive

        derive(hub, exchange, run_id)
        return
    with hub.adapter(exchange.source) as adapter:
        for flow in exchange.entities:
            stream, _ = streams_of(exchange, flow)
            for attempt in retrying(exchange.max_attempts, exchange.max_wait_seconds):
                with attempt:
                    _read_stream(hub, adapter, exchange, flow, stream, run_id)
