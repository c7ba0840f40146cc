"""Deliver: the outbox of an exchange → the target adapter, batch by batch.

For each batch: load and decrypt the records, keep only the fields the exchange's legal basis
allows, translate to the target's format, write the disclosure log (committed *before*
anything is sent; no log, no sending), send with retries, then commit the outcome of every
record. The idempotency key of a record version is the same on every attempt, so a batch
resent after a crash or a timeout is recognised by the target and not applied twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from hub.adapter import Outcome, Stream, WriteItem, WriteOutcome
from hub.disclosure.facts import DECISION, PROHIBITION
from hub.disclosure.rules import Correction, Held, RecordRule
from hub.disclosure.screen import screen
from hub.engine.context import Hub
from hub.engine.lease import holding
from hub.engine.send import send
from hub.errors import HubError, RecordError
from hub.exchanges import EntityFlow, Exchange, record_rules, target_stream
from hub.privacy import redact
from hub.store import audit, deadletters, heldback, outbox, records, runs
from hub.store.deadletters import Failure
from hub.store.outbox import CORRECTION_CONTEXT
from hub.store.records import StoredRecord
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
    admitted_by: str | None = None
    #: parts of the record the rules held back (sent without them)
    held: tuple[Held, ...] = ()


def project(data: dict, allowed: Sequence[str]) -> dict:
    """The canonical record restricted to the allowed fields: nothing else leaves the hub."""
    return {name: data[name] for name in allowed if name in data and data[name] is not None}


@dataclass
class _Prepared:
    """A batch ready to send: its disclosures are logged (committed)."""

    pending: list[_Pending]
    #: (item, reason, field, error class) of records that cannot be translated for the target
    failures: list[tuple[outbox.OutboxItem, str, str | None, str]]
    gone: list[outbox.OutboxItem]
    #: the disclosure logged for ``pending`` (None: nothing to send)
    disclosure_id: int | None = None
    #: what the legal basis does not cover: records held back whole, and records that wait
    #: for an operator's choice (the parts held back of records sent are in ``pending``)
    held: list[tuple[outbox.OutboxItem, StoredRecord, Held]] = dataclasses.field(
        default_factory=list
    )
    waiting: list[tuple[outbox.OutboxItem, StoredRecord, Correction]] = dataclasses.field(
        default_factory=list
    )


def _prepare_batch(
    hub: Hub,
    exchange: Exchange,
    flow: EntityFlow,
    stream: Stream,
    items: Sequence[outbox.OutboxItem],
    rules: Sequence[RecordRule] = (),
) -> _Prepared:
    """Load and decrypt the records, screen them (prohibitions, the operator's corrections,
    the exchange's record rules: :mod:`hub.disclosure`), keep the allowed fields of what is
    admitted, translate it for the target and log its disclosure (committed before anything
    is sent)."""
    keys = hub.keys
    gone: list[outbox.OutboxItem] = []
    with hub.store.transaction() as conn:
        claimed = outbox.claim(conn, items)  # taken by no one else, at the version read
        items = [i for i in items if i.id in claimed]
        stored = records.load(conn, keys, [i.record_id for i in items])
        known = records.native_ids_for(conn, keys, exchange.target, flow.entity, list(stored))
        batch = []
        for item in items:
            rec = stored.get(item.record_id)
            if rec is None:  # cannot happen with foreign keys; never lose track of it silently
                gone.append(item)
            else:
                batch.append((item.id, rec, _correction_of(hub, item)))
        screened = screen(conn, keys, exchange.name, exchange.source, rules, batch)

    pending: list[_Pending] = []
    #: (item, reason, field, error class) of records that cannot be translated for the target
    failures: list[tuple[outbox.OutboxItem, str, str | None, str]] = []
    held, waiting = [], []
    for item in items:
        admitted = screened.admitted.get(item.id)
        if admitted is None:  # held back, waiting for a correction, or gone
            if item.id in screened.held:
                held.append((item, stored[item.record_id], screened.held[item.id]))
            elif item.id in screened.corrections:
                waiting.append((item, stored[item.record_id], screened.corrections[item.id]))
            continue
        rec = admitted.record
        data = project(admitted.data, flow.fields)
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
                admitted.admitted_by,
                admitted.held,
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
                        p.item.record_id,
                        p.subject_id,
                        p.fields,
                        p.write.idempotency_key,
                        p.admitted_by,
                    )
                    for p in pending
                ],
            )
    return _Prepared(pending, failures, gone, disclosure_id, held, waiting)


def _correction_of(hub: Hub, item: outbox.OutboxItem) -> dict | None:
    if item.correction is None:
        return None
    return json.loads(hub.keys.decrypt(bytes(item.correction), context=CORRECTION_CONTEXT))


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
    holds = [_hold(item, rec, h) for item, rec, h in batch.held]
    marks.extend((item.id, outbox.HELD, h.reason) for item, _, h in batch.held)
    for item, _, c in batch.waiting:
        marks.append((item.id, outbox.DEAD, c.reason))
        letters.append(_choose(exchange, flow, stream, item, c))
        stats.failed += 1
    for p in pending:
        outcome = results[p.write.idempotency_key]
        if outcome.outcome != Outcome.TRANSIENT:  # sent (or refused) without these parts
            holds.extend(_hold(p.item, p, h) for h in p.held)
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
    stats.held_back = len(holds)
    with hub.store.transaction() as conn:
        outbox.mark(conn, marks, claimed=True)
        heldback.add(conn, exchange.name, run_id, holds)
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


def _hold(item: outbox.OutboxItem, rec: StoredRecord | _Pending, held: Held) -> heldback.Hold:
    return heldback.Hold(
        item.record_id, item.version, rec.subject_id, held.rule, held.reason, held.part, held.count
    )


def _choose(
    exchange: Exchange, flow: EntityFlow, stream: str, item: outbox.OutboxItem, c: Correction
) -> Failure:
    """The dead letter of a record that waits for an operator to choose which of its items
    go (``hub failures replay ID --payload``, or the form of the dashboard)."""
    letter = _failure(exchange, flow, stream, item, "correction", c.reason, c.field)
    choose = {"field": c.field, "choose_at_most": c.limit, "choices": list(c.choices)}
    return replace(letter, stage="disclose", payload=choose)


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
    return send(stream, [p.write for p in batch.pending], exchange) if batch.pending else {}


def deliver(hub: Hub, exchange: Exchange, run_id: str | None) -> BatchStats:
    """Deliver every pending record of ``exchange``. Raises :class:`DeliveryIncomplete` at the
    end if some records are still failing transiently (they stay pending). Holds the
    exchange's lease (:mod:`hub.engine.lease`; a run or replay calling this holds it already)."""
    total, deferred = BatchStats(), 0
    with (
        holding(hub, exchange.name, holder="deliver"),
        hub.adapter(exchange.target, exchange) as adapter,
        ThreadPoolExecutor(1, "hub-send") as sender,
    ):
        for flow in exchange.entities:
            target = adapter.stream(target_stream(exchange, flow).name)
            stream = target.name
            if not target.delivers:  # the target keeps what was read; nothing was queued
                log.info("%s: %s records are kept, not delivered", exchange.name, flow.entity)
                continue
            rules = record_rules(exchange, flow)
            with hub.store.transaction() as conn:  # what changed may change the verdict
                outbox.unclaim_all(conn, exchange.name)  # left by a run that ended midway
                context = (
                    [DECISION, PROHIBITION]
                    if any(r.needs_decisions for r in rules)
                    else [PROHIBITION]
                )
                outbox.reopen_held(conn, exchange.name, flow.entity, context)
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
                    extra={"progress": ("deliver", stats)},
                )

            try:
                # a batch is sent (the sender thread waits for the target) while the next one
                # is prepared here; each is settled before the one after it is sent
                for items in _pending_batches(hub, exchange, flow):
                    batch = _prepare_batch(hub, exchange, flow, target, items, rules)
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
