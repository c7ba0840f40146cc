"""The purge: remove what the retention periods let go, and record what was removed.

:func:`purge` computes the cutoffs at ``at`` (now, or a time given: tests move the clock),
then removes, each kind in bounded batches (:mod:`hub.store.purge`): the payloads of old
dead letters, the old letters, held-back and outbox rows, records, runs, log entries (by
:func:`hub.audit.chain.prune_logs`, which keeps the chain verifiable), and last the people
nothing refers to any more. Each purge is a row of ``purges``: when, the cutoffs, the rows
removed per kind (or the error it ended in). A dry run counts the same and removes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from hub.errors import HubError, describe
from hub.retention.plan import LOGS, Due, counted, plan
from hub.store import purge as p
from hub.store import schema as t

if TYPE_CHECKING:
    from hub.engine import Hub

#: rows removed in one transaction
BATCH_SIZE = 500
#: the health DAG purges when the last purge is older than this (it runs every 15 minutes)
DAILY = dt.timedelta(hours=23)


@dataclass(frozen=True)
class PurgeReport:
    at: dt.datetime
    dry_run: bool
    lines: list[Due]
    #: the ``purges`` row (None for a dry run)
    purge_id: int | None = None

    def totals(self) -> dict[str, int]:
        out: Counter = Counter()
        for d in self.lines:
            out[d.kind] += d.count
        return {kind: out[kind] for kind in dict.fromkeys(d.kind for d in self.lines)}

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "purge_id": self.purge_id,
            "totals": self.totals(),
            "lines": [d.as_dict() for d in self.lines],
        }


def _utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        raise HubError(f"the purge's time {at.isoformat()} has no time zone")
    return at.astimezone(dt.UTC)


def purge(
    hub: Hub,
    *,
    at: dt.datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    actor: str = "hub",
) -> PurgeReport:
    """Remove (with ``dry_run``: count) what is due at ``at`` (default: now)."""
    if batch_size < 1:
        raise HubError(f"a purge's batch size must be at least 1, not {batch_size}")
    at = _utc(at)
    store = hub.store
    with store.transaction() as conn:
        cutoffs, lines = plan(conn, hub.config, at)
        if dry_run:
            counts = p.count_due(conn, cutoffs)
            counts[LOGS] = Counter({"": p.logs_due(conn, cutoffs)})
            return PurgeReport(at, True, counted(lines, counts))
        purge_id = conn.execute(
            insert(t.purges).values(
                at=at,
                started_at=dt.datetime.now(dt.UTC),
                actor=actor,
                cutoffs=json.dumps([d.as_dict() for d in lines]),
            )
        ).inserted_primary_key[0]
    counts: dict[str, Counter] = {}
    try:
        counts.update(p.purge_letters(store, cutoffs, batch_size))
        counts[p.HELD_BACK] = p.purge_held_back(store, cutoffs, batch_size)
        counts[p.OUTBOX] = p.purge_outbox(store, cutoffs, batch_size)
        counts[p.RECORDS] = p.purge_records(store, cutoffs, batch_size)
        counts.update(p.purge_runs(store, cutoffs, batch_size))
        counts[LOGS] = Counter({"": _prune_logs(hub, cutoffs)})
        counts[p.SUBJECTS] = p.purge_subjects(store, batch_size)
    except Exception as exc:
        _finish(hub, purge_id, counts, error=describe(exc))
        raise
    _finish(hub, purge_id, counts)
    return PurgeReport(at, False, counted(lines, counts), purge_id)


def _prune_logs(hub: Hub, cutoffs: p.Cutoffs) -> int:
    """Log entries before the cutoff, removed by the log chain's own pruning (which leaves
    an anchor so that what remains still verifies); nothing to do: not called."""
    with hub.store.transaction() as conn:
        if not p.logs_due(conn, cutoffs):
            return 0
    from hub.audit.chain import prune_logs

    with hub.store.transaction() as conn:
        return prune_logs(conn, cutoffs.logs)


def _finish(hub: Hub, purge_id: int, counts: dict[str, Counter], error: str | None = None):
    with hub.store.transaction() as conn:
        conn.execute(
            update(t.purges)
            .where(t.purges.c.id == purge_id)
            .values(
                finished_at=dt.datetime.now(dt.UTC),
                counts=json.dumps({kind: dict(scopes) for kind, scopes in counts.items()}),
                error=error,
            )
        )


def due(hub: Hub, every: dt.timedelta = DAILY) -> bool:
    """Whether a purge is due: none has finished without error within ``every``."""
    since = dt.datetime.now(dt.UTC) - every
    pc = t.purges.c
    with hub.store.transaction() as conn:
        recent = conn.execute(
            select(func.count()).where(
                pc.finished_at.is_not(None), pc.error.is_(None), pc.started_at > since
            )
        ).scalar_one()
    return recent == 0
