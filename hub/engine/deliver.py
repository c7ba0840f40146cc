"""Deliver: the outbox of an exchange → the target adapter, batch by batch.

For each batch: load and decrypt the records, keep only the fields the exchange's legal basis
allows, translate to the target's format, write the disclosure log (committed *before*
anything is sent; no log, no sending), send with retries, then commit the outcome of every
record. The idempotency key of a record version is the same on every attempt, so a batch
resent after a crash or a timeout is recognised by the target and not applied twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from hub.adapter import Outcome, Stream, WriteItem, WriteOutcome
from hub.engine.context import Hub
from hub.engine.retry import retrying
from hub.errors import HubError, PermanentError, RecordError, TransientError
from hub.exchanges import EntityFlow, Exchange, target_stream
from hub.privacy import redact
from hub.store import audit, deadletters, outbox, records, runs
from hub.store.deadletters import Failure
from hub.store.runs import BatchStats

log = logging.getLogger(__name__)


class DeliveryIncomplete(HubError):
    """Some records could not be delivered because of transient errors; they stay pending."""


@dataclass
class _Pending:
    item: outbox.OutboxItem
    write: WriteItem
    subject_id: int | None
    fields: tuple[str, ...]


def project(data: dict, allowed: Sequence[str]) -> dict:
    """The canonical record restricted to the allowed fields: nothing else leaves the hub."""
    return {name: data[name] for name in allowed if name in data and data[name] is not None}


def _send(
    stream: Stream, pending: Sequence[_Pending], exchange: Exchange
) -> dict[str, WriteOutcome]:
    """Send with retries. A transient failure of the whole call, or of single items, is
    retried (same keys) with backoff honouring Retry-After; what remains transient after the
    last attempt is returned as transient. When the target refuses the whole batch as
    invalid, the records are sent one by one, so that only the bad ones fail."""
    try:
        return _send_batch(stream, [p.write for p in pending], exchange)
    except PermanentError as exc:
        if len(pending) == 1:
            key = pending[0].write.idempotency_key
            return {key: WriteOutcome.permanent(key, str(exc))}
        log.warning("%s: batch refused (%s); sending its records one by one", exchange.name, exc)
    results: dict[str, WriteOutcome] = {}
    for p in pending:
        results.update(_send(stream, [p], exchange))
    return results


def _send_batch(
    stream: Stream, writes: Sequence[WriteItem], exchange: Exchange
) -> dict[str, WriteOutcome]:
    waiting = {w.idempotency_key: w for w in writes}
    results: dict[str, WriteOutcome] = {}
    try:
        for attempt in retrying(exchange.max_attempts, exchange.max_wait_seconds):
            with attempt:
                outcomes = stream.write(list(waiting.values()))
                by_key = {o.idempotency_key: o for o in outcomes}
                missing = set(waiting) - set(by_key)
                if missing:
                    raise TransientError(
                        f"{stream.system}/{stream.name} returned no outcome for {len(missing)} "
                        "records"
                    )
                retry_after = None
                for key in list(waiting):
                    outcome = by_key[key]
                    results[key] = outcome
                    if outcome.outcome != Outcome.TRANSIENT:
                        del waiting[key]
                    elif outcome.retry_after is not None:
                        retry_after = max(retry_after or 0, outcome.retry_after)
                if waiting:
                    raise TransientError(
                        f"{len(waiting)} records failed transiently: "
                        f"{results[next(iter(waiting))].reason}",
                        retry_after=retry_after,
                    )
    except TransientError as exc:
        for key in waiting:
            if key not in results or results[key].outcome != Outcome.TRANSIENT:
                results[key] = WriteOutcome.transient(key, str(exc))
    return results


@dataclass
class _Prepared:
    """A batch ready to send: its disclosures are logged (committed)."""

    pending: list[_Pending]
    #: (item, reason, field, error class) of records that cannot be translated for the target
    failures: list[tuple[outbox.OutboxItem, str, str | None, str]]
    gone: list[outbox.OutboxItem]
    #: the disclosure logged for ``pending`` (None: nothing to send)
    disclosure_id: int | None = None


def _prepare_batch(
    hub: Hub,
    exchange: Exchange,
    flow: EntityFlow,
    stream: Stream,
    items: Sequence[outbox.OutboxItem],
) -> _Prepared:
    """Load and decrypt the records, keep the allowed fields, translate them for the target
    and log their disclosure (committed before anything is sent)."""
    keys = hub.keys
    with hub.store.transaction() as conn:
        stored = records.load(conn, keys, [i.record_id for i in items])
        known = records.native_ids_for(conn, keys, exchange.target, flow.entity, list(stored))

    pending: list[_Pending] = []
    #: (item, reason, field, error class) of records that cannot be translated for the target
    failures: list[tuple[outbox.OutboxItem, str, str | None, str]] = []
    gone: list[outbox.OutboxItem] = []
    for item in items:
        rec = stored.get(item.record_id)
        if rec is None:  # cannot happen with foreign keys; never lose track of it silently
            gone.append(item)
            continue
        data = project(rec.data, flow.fields)
        try:
            payload = stream.to_native(data)
        except RecordError as exc:  # the target cannot take this record: names the field
            reason = f"the target refuses field {exc.field}: {exc.message}"
            failures.append((item, reason, exc.field, "invalid"))
            continue
        except Exception as exc:
            reason = f"cannot translate for {exchange.target}: {type(exc).__name__}: {exc}"
            failures.append((item, redact(reason), None, "adapter-error"))
            continue
        pending.append(
            _Pending(
                item,
                WriteItem(item.idempotency_key, item.record_id, payload, known.get(item.record_id)),
                rec.subject_id,
                tuple(data),
            )
        )

    disclosure_id = None
    if pending:  # the disclosure log first, in its own committed transaction
        with hub.store.transaction() as conn:
            disclosure_id = audit.log_disclosures(
                conn,
                exchange.name,
                exchange.target,
                exchange.legal_basis,
                [
                    audit.Disclosure(
                        p.item.record_id, p.subject_id, p.fields, p.write.idempotency_key
                    )
                    for p in pending
                ],
            )
    return _Prepared(pending, failures, gone, disclosure_id)


def _settle_batch(
    hub: Hub,
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    batch: _Prepared,
    results: dict[str, WriteOutcome],
    run_id: str | None,
) -> tuple[BatchStats, int]:
    """Commit the outcome of every record of a sent batch."""
    keys = hub.keys
    pending, failures, gone = batch.pending, batch.failures, batch.gone
    stats = BatchStats()
    marks, letters, links, settled = [], [], [], []
    deferred = 0
    for item, reason, field, error_class in failures:
        marks.append((item.id, outbox.DEAD, reason))
        letters.append(_failure(exchange, flow, stream, item, error_class, reason, field))
        stats.failed += 1
    for item in gone:
        marks.append((item.id, outbox.DEAD, "record missing from the store"))
        stats.failed += 1
    for p in pending:
        outcome = results[p.write.idempotency_key]
        if outcome.outcome == Outcome.OK:
            marks.append((p.item.id, outbox.DELIVERED, None))
            settled.append((p.write.idempotency_key, "ok"))
            if outcome.native_id and outcome.native_id != p.write.native_id:
                links.append((outcome.native_id, p.item.record_id))  # new to the hub
            stats.delivered += 1
        elif outcome.outcome == Outcome.SKIPPED:
            marks.append((p.item.id, outbox.SKIPPED, outcome.reason))
            settled.append((p.write.idempotency_key, "skipped"))
            stats.skipped += 1
        elif outcome.outcome == Outcome.PERMANENT:
            marks.append((p.item.id, outbox.DEAD, outcome.reason))
            settled.append((p.write.idempotency_key, "failed"))
            letters.append(_failure(exchange, flow, stream, p.item, "permanent", outcome.reason))
            stats.failed += 1
        else:  # still transient after every attempt: stays pending for the next run
            marks.append((p.item.id, outbox.PENDING, outcome.reason))
            settled.append((p.write.idempotency_key, audit.UNCONFIRMED))
            deferred += 1
    with hub.store.transaction() as conn:
        outbox.mark(conn, marks)
        deadletters.add(conn, keys, exchange.name, run_id, letters)
        records.link_native(conn, keys, exchange.target, flow.entity, links)
        if batch.disclosure_id is not None:
            audit.settle_disclosures(conn, batch.disclosure_id, settled)
        if run_id:
            runs.record_batch(conn, run_id, "deliver", stream, stats)
    return stats, deferred


def _failure(
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    item: outbox.OutboxItem,
    error_class: str,
    reason: str,
    field: str | None = None,
) -> Failure:
    return Failure(
        stage="deliver",
        system=exchange.target,
        stream=stream,
        error_class=error_class,
        entity=flow.entity,
        record_id=item.record_id,
        native_ref=f"{exchange.target}/{stream}/record {item.record_id}",
        field=field,
        reason=f"record {item.record_id} v{item.version} to {exchange.target}/{stream}: {reason}",
    )


def _pending_batches(
    hub: Hub, exchange: Exchange, flow: EntityFlow
) -> Iterator[list[outbox.OutboxItem]]:
    after = 0
    while True:
        with hub.store.transaction() as conn:
            items = outbox.next_pending(
                conn, exchange.name, flow.entity, exchange.batch_size, after
            )
        if not items:
            return
        after = items[-1].id
        yield items


def _send_all(stream: Stream, batch: _Prepared, exchange: Exchange) -> dict[str, WriteOutcome]:
    return _send(stream, batch.pending, exchange) if batch.pending else {}


def deliver(hub: Hub, exchange: Exchange, run_id: str | None) -> BatchStats:
    """Deliver every pending record of ``exchange``. Raises :class:`DeliveryIncomplete` at the
    end if some records are still failing transiently (they stay pending)."""
    total, deferred = BatchStats(), 0
    with (
        hub.adapter(exchange.target, exchange) as adapter,
        ThreadPoolExecutor(1, "hub-send") as sender,
    ):
        for flow in exchange.entities:
            target = adapter.stream(target_stream(exchange, flow).name)
            stream = target.name
            if not target.delivers:  # the target keeps what was read; nothing was queued
                log.info("%s: %s records are kept, not delivered", exchange.name, flow.entity)
                continue
            in_flight: tuple[_Prepared, Future] | None = None

            def settle(batch: _Prepared, sent: Future, flow=flow, stream=stream) -> None:
                nonlocal deferred
                stats, late = _settle_batch(
                    hub, exchange, flow, stream, batch, sent.result(), run_id
                )
                total.add(stats)
                deferred += late
                log.info(
                    "%s: %s/%s batch: %d delivered, %d skipped, %d failed, %d deferred",
                    exchange.name,
                    exchange.target,
                    stream,
                    stats.delivered,
                    stats.skipped,
                    stats.failed,
                    late,
                )

            try:
                # a batch is sent (the sender thread waits for the target) while the next one
                # is prepared here; each is settled before the one after it is sent
                for items in _pending_batches(hub, exchange, flow):
                    batch = _prepare_batch(hub, exchange, flow, target, items)
                    if in_flight:
                        settle(*in_flight)
                    in_flight = batch, sender.submit(_send_all, target, batch, exchange)
                if in_flight:
                    settle(*in_flight)
                    in_flight = None
            finally:
                if in_flight:  # an error above: let the batch on its way finish first
                    in_flight[1].exception()
    if deferred:
        raise DeliveryIncomplete(
            f"{exchange.name}: {deferred} records could not be delivered to {exchange.target} "
            "after every retry; they stay pending for the next run"
        )
    return total
