"""Replaying dead letters after a fix, from the step where they failed.

- a record that failed to translate or validate is processed again from its kept (encrypted)
  native payload, or from a corrected payload the operator gives; on success it is stored
  and queued like any record read from the source;
- a record that failed delivery goes back to the outbox with the same version and
  idempotency key, and is delivered again (the target recognises a repeat).

Replaying is idempotent: a letter that is no longer open is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.adapter import ContractViolation, NativeRecord
from hub.engine.context import Hub
from hub.engine.deliver import DeliveryIncomplete, deliver
from hub.engine.extract import store_batch
from hub.engine.lease import holding
from hub.engine.reader import stage
from hub.engine.translate import Translated, translate
from hub.errors import HubError
from hub.store import audit, deadletters, outbox
from hub.store.leases import ExchangeBusy


@dataclass(frozen=True)
class ReplayResult:
    letter_id: int
    ok: bool
    detail: str


def replay(
    hub: Hub,
    letter_ids: Sequence[int],
    *,
    actor: str,
    corrected: Mapping[int, Mapping[str, Any]] | None = None,
    deliver_now: bool = True,
    on_each: Callable[[int], None] | None = None,
) -> list[ReplayResult]:
    """Replay dead letters from the step where they failed; ``on_each(letter_id)`` is called
    after each (progress). Replays are idempotent: a letter no longer open is left alone."""
    results: list[ReplayResult] = []
    to_deliver: set[str] = set()
    for letter_id in letter_ids:
        if results and on_each:
            on_each(results[-1].letter_id)
        with hub.store.transaction() as conn:
            row = deadletters.get(conn, letter_id)
        if row is None:
            results.append(ReplayResult(letter_id, False, "no such dead letter"))
            continue
        if row.status != deadletters.OPEN:
            results.append(_not_open(hub, row))
            continue
        exchange = hub.config.exchange(row.exchange)
        # the exchange's lease, as a run holds it: a replay never overlaps a run
        try:
            with holding(
                hub, exchange.name, holder=f"replay of dead letter {letter_id} by {actor}"
            ):
                with hub.store.transaction() as conn:  # as it is now that the exchange is ours
                    row = deadletters.get(conn, letter_id)
                if row.status != deadletters.OPEN:
                    result = _not_open(hub, row)
                else:
                    result = _replay_one(hub, row, actor, (corrected or {}).get(letter_id))
        except ExchangeBusy as exc:  # left open: replay it when the run has ended
            result = ReplayResult(letter_id, False, f"not replayed: {exc}")
        results.append(result)
        if result.ok:
            to_deliver.add(exchange.name)
    if results and on_each:
        on_each(results[-1].letter_id)
    if deliver_now and to_deliver:
        with hub.store.transaction() as conn:
            before = deadletters.last_id(conn)
        for name in sorted(to_deliver):
            try:
                deliver(hub, hub.config.exchange(name), None)
            except DeliveryIncomplete as exc:
                results.append(ReplayResult(0, False, str(exc)))
            except ExchangeBusy as exc:  # a run began meanwhile: it takes what was queued
                results.append(ReplayResult(0, False, f"{exc}; what was replayed is queued for it"))
        # a record sent again that failed again: its letter is superseded by the new one
        replayed = [r.letter_id for r in results if r.ok and r.letter_id]
        with hub.store.transaction() as conn:
            deadletters.supersede_replayed(conn, replayed, after_id=before)
            for r in list(results):
                row = deadletters.get(conn, r.letter_id) if r.ok and r.letter_id else None
                if row is not None and row.status == deadletters.SUPERSEDED:
                    results[results.index(r)] = _superseded(conn, row)
    return results


def _not_open(hub: Hub, row) -> ReplayResult:
    """A letter no longer open is left alone; a superseded one names the letter to replay."""
    if row.status == deadletters.SUPERSEDED:
        with hub.store.transaction() as conn:
            return _superseded(conn, row)
    return ReplayResult(row.id, True, f"already {row.status}; nothing to do")


def _superseded(conn, row) -> ReplayResult:
    latest = deadletters.latest_successor(conn, row.id) or row.successor_id
    return ReplayResult(row.id, False, f"superseded by #{latest}; replay that one")


def _replay_one(hub: Hub, row, actor: str, corrected: Mapping[str, Any] | None) -> ReplayResult:
    """Replay one open dead letter from the step where it failed."""
    if row.stage == "disclose":  # waiting for an operator's choice
        return _replay_choice(hub, row, actor, corrected)
    if row.stage == "deliver":
        if corrected is not None:
            return ReplayResult(
                row.id,
                False,
                "failed at delivery: it is sent again as the hub holds it, without a payload"
                " (correct the record at its source)",
            )
        with hub.store.transaction() as conn:
            outbox.requeue(conn, row.exchange, [row.record_id])
            deadletters.set_status(conn, row.id, deadletters.REPLAYED, f"replayed by {actor}")
        return ReplayResult(row.id, True, "queued for delivery again")
    return _replay_extract(hub, row, actor, corrected)


def _replay_choice(hub: Hub, row, actor: str, chosen: Mapping[str, Any] | None) -> ReplayResult:
    """A record that waits for an operator to choose its items (:mod:`hub.disclosure`):
    the choice, ``{field: [items]}``, is kept (encrypted) for the record's version and the
    record is screened and delivered again; without a choice it is screened as it was."""
    if chosen is not None:
        if (
            not isinstance(chosen, Mapping)
            or set(chosen) != {row.field}
            or not isinstance(chosen[row.field], list)
        ):
            return ReplayResult(
                row.id, False, f'give the items to report as {{"{row.field}": [...]}}'
            )
        blob = hub.keys.encrypt(
            json.dumps({row.field: [str(v) for v in chosen[row.field]]}).encode(),
            context=outbox.CORRECTION_CONTEXT,
        )
    with hub.store.transaction() as conn:
        if chosen is not None:
            queued = outbox.set_correction(conn, row.exchange, row.record_id, blob)
        else:
            queued = outbox.requeue(conn, row.exchange, [row.record_id])
        if not queued:
            return ReplayResult(row.id, False, "the record is no longer waiting for a choice")
        how = "with the items chosen" if chosen is not None else "as it was"
        deadletters.set_status(conn, row.id, deadletters.REPLAYED, f"replayed {how} by {actor}")
    return ReplayResult(row.id, True, f"queued for delivery {how}")


def _replay_extract(hub: Hub, row, actor: str, corrected: Mapping[str, Any] | None) -> ReplayResult:
    exchange = hub.config.exchange(row.exchange)
    kept = deadletters.payload_of(hub.keys, row)
    if kept is None:
        return ReplayResult(row.id, False, "no payload was kept for this record")
    with hub.store.transaction() as conn:
        audit.log_access(
            conn,
            actor=actor,
            action="read",
            purpose=f"replay of dead letter {row.id} ({row.native_ref})",
            items=[audit.Access(None, row.record_id)],
            exchange=exchange.name,
        )
    if corrected is not None:  # the operator's correction: the source's verdict is void
        record = NativeRecord(kept["native_id"], corrected)
    else:  # as read: a record that broke its source's contract fails the same way again
        problem = kept.get("problem")
        violation = ContractViolation(problem["field"], problem["message"]) if problem else None
        record = NativeRecord(kept["native_id"], kept["data"], violation)
    flow = exchange.flow(row.entity)
    with hub.adapter(row.system, exchange) as adapter:
        outcome = translate(adapter.stream(row.stream), hub.rules, record)
        system = row.system  # the system (an adapter's instance) the record came from
        staged = stage(hub, system, row.stream, [outcome])
        store_batch(hub, system, exchange, flow, row.stream, staged, None, cursor=None)
    if isinstance(outcome, Translated):
        with hub.store.transaction() as conn:
            deadletters.set_status(conn, row.id, deadletters.REPLAYED, f"replayed by {actor}")
        return ReplayResult(row.id, True, "stored and queued for delivery")
    with hub.store.transaction() as conn:
        successor = deadletters.latest_successor(conn, row.id)
    again = f"failed again as #{successor}" if successor else "failed again"
    return ReplayResult(row.id, False, f"{again}: {outcome.reason}")


class NotCorrectable(HubError):
    """A dead letter that has no payload a replay could take corrected."""


def correctable(hub: Hub, row) -> Any:
    """What :func:`replay` takes as this letter's corrected payload (``hub failures replay
    ID --payload FILE``), filled with what the letter holds, for an operator to edit: the
    source record's own fields as the source sent them (a record that failed at ``read``,
    ``translate`` or ``validate``), or ``{field: [items]}`` with every item offered (a
    record waiting for a choice at ``disclose``: keep at most the number allowed). A record
    that failed at delivery is sent again as the hub holds it and takes no payload."""
    if row.stage == "deliver":
        raise NotCorrectable(
            f"dead letter {row.id} failed at delivery: it is sent again as the hub holds it"
            " and takes no payload (correct the record at its source, then replay it)"
        )
    kept = deadletters.payload_of(hub.keys, row)
    if row.stage == "disclose" and isinstance(kept, dict):
        return {row.field: list(kept.get("choices", ()))}
    if not isinstance(kept, dict) or "data" not in kept:
        raise NotCorrectable(f"dead letter {row.id}: no payload was kept for this record")
    return kept["data"]


__all__ = ["NotCorrectable", "ReplayResult", "correctable", "replay"]
