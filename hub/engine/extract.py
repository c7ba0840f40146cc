"""Extract: read a source since its cursor, translate, validate and upsert, batch by batch.

Each batch read from the source is translated, validated and prepared (keyed pseudonyms,
canonical JSON, hashes, encryption; by a worker process, :mod:`hub.engine.reader`) and
written with its cursor: records, identity links, outbox entries, dead letters, the access
log and the statistics. The transaction spans batches until ``commit_every`` records or
``commit_seconds`` have passed (:class:`StoreWriter`), and a batch's rows and its cursor
are always in the same one. A process killed at any point therefore resumes from the last
committed cursor, and re-reading a record that was already stored changes nothing (same
content hash). A stream read whole on every run (``replication = "full"``, such as the
indicators the hub derives) starts from the beginning each time and keeps no cursor.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Iterator

from sqlalchemy import Connection

from hub.adapter import FULL, Stream
from hub.engine.context import Hub
from hub.engine.lease import holding
from hub.engine.reader import Staged, prepared_batches
from hub.engine.retry import retrying
from hub.engine.translate import native_ref
from hub.exchanges import EntityFlow, Exchange, source_stream
from hub.store import Store, audit, deadletters, fencing, outbox, records, runs, statistics
from hub.store.runs import BatchStats

log = logging.getLogger(__name__)


def write_batch(
    conn: Connection,
    hub: Hub,
    system: str,
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    staged: Staged,
    run_id: str | None,
    *,
    cursor: tuple[str | None] | None,
) -> BatchStats:
    """Write staged records and failures (and the cursor, if given) in ``conn``'s
    transaction: records, identity links, outbox, dead letters, access log, statistics."""
    result = records.apply(conn, hub.keys, system, flow.entity, staged.prepared)
    readers = hub.config.readers_of(system, flow.entity)
    outbox.enqueue(conn, readers, result.inserted, fresh=True)
    outbox.enqueue(conn, readers, result.updated)
    deadletters.add(conn, hub.keys, exchange.name, run_id, staged.failures)
    deadletters.resolve_for(
        conn,
        exchange.name,
        lambda: [native_ref(system, stream, p.native_id) for p in staged.prepared],
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
        read=staged.read,
        upserted=len(result.changed),
        unchanged=result.unchanged,
        failed=len(staged.failures),
    )
    if run_id:
        runs.record_batch(conn, run_id, "extract", stream, stats, cursor[0] if cursor else None)
    if cursor is not None:
        runs.set_cursor(conn, exchange.name, stream, cursor[0])
    return stats


def store_batch(
    hub: Hub,
    system: str,
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    staged: Staged,
    run_id: str | None,
    *,
    cursor: tuple[str | None] | None,
) -> BatchStats:
    """:func:`write_batch` in a transaction of its own, committed."""
    with hub.store.transaction() as conn:
        return write_batch(conn, hub, system, exchange, flow, stream, staged, run_id, cursor=cursor)


class StoreWriter:
    """One store transaction held across batches, committed once ``every`` records are
    written or ``seconds`` have passed. A commit of SQLite writes every page the transaction
    changed, once: records of a bulk load land on the same index pages batch after batch,
    so few large commits write far less than one per batch (and memory stays flat: the
    pages wait in the database's own cache, not as records in Python)."""

    def __init__(self, store: Store, every: int, seconds: float):
        self.store, self.every, self.seconds = store, every, seconds
        self._conn: Connection | None = None
        self._tx = None
        self.written, self.began = 0, 0.0

    def connection(self) -> Connection:
        """The connection with the open transaction (one is begun if none is open)."""
        if self._conn is None:
            self._conn = self.store.engine.connect()
        if self._tx is None:
            self._tx = self._conn.begin()
            self.written, self.began = 0, time.monotonic()
        return self._conn

    def wrote(self, records: int) -> None:
        """Count what was written; commit if that is enough, or it has waited enough."""
        self.written += records
        if self.written >= self.every or time.monotonic() - self.began >= self.seconds:
            self.commit()

    def commit(self) -> None:
        if self._tx is not None:
            # as Store.transaction: committed only while the exchange's lease is ours
            fencing.check(self._conn, str(self.store.engine.url))
            written = statistics.take(self._conn)
            self._tx.commit()
            self._tx = None
            self.store.freshness.committed(written)

    def close(self) -> None:
        """Roll back what is not committed (after an error) and release the connection."""
        try:
            if self._tx is not None:
                statistics.discard(self._conn)
                self._tx.rollback()
                self._tx = None
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _read_stream(
    hub: Hub, exchange: Exchange, flow: EntityFlow, source: type[Stream], run_id: str | None
) -> BatchStats:
    total, stream = BatchStats(), source.name
    full = source.replication == FULL
    cursor = None
    if not full:
        with hub.store.transaction() as conn:
            cursor = runs.get_cursor(conn, exchange.name, stream)
    system = exchange.source
    writer = StoreWriter(hub.store, exchange.commit_every, exchange.commit_seconds)
    try:
        with prepared_batches(hub, exchange, flow, stream, cursor) as batches:
            while True:
                try:
                    staged, next_cursor = next(batches)
                except StopIteration:
                    break
                except Exception:
                    # the source failed: what was written before it (each batch with its
                    # cursor) is kept, so a retry goes on from there instead of starting over
                    writer.commit()
                    raise
                stats = write_batch(
                    writer.connection(),
                    hub,
                    system,
                    exchange,
                    flow,
                    stream,
                    staged,
                    run_id,
                    cursor=None if full else (next_cursor,),
                )
                writer.wrote(stats.read)
                total.add(stats)
                log.info(
                    "%s: %s/%s batch: %d read, %d new or changed, %d unchanged, %d failed",
                    exchange.name,
                    system,
                    stream,
                    stats.read,
                    stats.upserted,
                    stats.unchanged,
                    stats.failed,
                    extra={"progress": ("extract", stats)},
                )
        writer.commit()
    finally:
        writer.close()  # rolls back a batch whose writing failed
    return total


@contextlib.contextmanager
def bulk_allocation() -> Iterator[None]:
    """Collect garbage less often while records stream through. A bulk load allocates
    millions of short-lived objects; with the default thresholds the collector would scan
    every long-lived object of the process (the modules, the models) again and again. What
    exists when the load starts is moved out of the collector's sight for its duration."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(before[0], 50_000), before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def extract(hub: Hub, exchange: Exchange, run_id: str | None) -> None:
    """Extract every entity of ``exchange`` from its source. A transient failure restarts the
    stream from its last committed cursor, with backoff, up to the exchange's attempts.
    Counts accumulate in the run record, commit by commit. Holds the exchange's lease
    (:mod:`hub.engine.lease`; a run calling this holds it already)."""
    with holding(hub, exchange.name, holder="extract"), bulk_allocation():
        for flow in exchange.entities:
            source = source_stream(exchange, flow)
            for attempt in retrying(exchange.max_attempts, exchange.max_wait_seconds):
                with attempt:
                    _read_stream(hub, exchange, flow, source, run_id)
