"""Run records (one per exchange run, e.g. per Airflow DAG run), their batches, and cursors."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from hub.store import schema as t
from hub.store.records import now

COUNTERS = ("read", "upserted", "unchanged", "delivered", "skipped", "failed", "held_back")

#: the states a run ends in. A run that went through all its phases but left records that
#: failed (dead letters awaiting an operator) is not a plain success: it ends
#: ``success_with_failures``, so that no list of runs shows it green
RUNNING, SUCCESS, SUCCESS_WITH_FAILURES, FAILED = (
    "running",
    "success",
    "success_with_failures",
    "failed",
)
#: the states of a run that went through all its phases (the exchange is not stale)
COMPLETED = (SUCCESS, SUCCESS_WITH_FAILURES)


@dataclass
class BatchStats:
    read: int = 0
    upserted: int = 0
    unchanged: int = 0
    delivered: int = 0
    skipped: int = 0
    failed: int = 0
    #: records and parts of records the exchange's legal basis did not cover
    held_back: int = 0

    def add(self, other: BatchStats) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


def open_run(conn: Connection, exchange: str, external_id: str) -> str:
    """The run for (exchange, external id), created if new; a rerun continues it."""
    row = conn.execute(
        select(t.runs.c.id).where(
            t.runs.c.exchange == exchange, t.runs.c.external_id == external_id
        )
    ).first()
    if row:
        conn.execute(
            update(t.runs)
            .where(t.runs.c.id == row.id)
            .values(state="running", finished_at=None, error=None)
        )
        return row.id
    # one run of an exchange at a time (the DAGs allow one active run): a run still marked
    # running belongs to a process that died without finishing it
    conn.execute(
        update(t.runs)
        .where(t.runs.c.exchange == exchange, t.runs.c.state == "running")
        .values(
            state="failed",
            finished_at=now(),
            error="the process ended without finishing the run (killed or crashed)",
        )
    )
    run_id = str(uuid.uuid4())
    conn.execute(
        t.runs.insert().values(
            id=run_id,
            exchange=exchange,
            external_id=external_id,
            state="running",
            started_at=now(),
            **{c: 0 for c in COUNTERS},
        )
    )
    return run_id


def record_batch(
    conn: Connection,
    run_id: str,
    phase: str,
    stream: str,
    stats: BatchStats,
    cursor: str | None = None,
) -> None:
    seq = (
        conn.execute(
            select(t.run_batches.c.seq)
            .where(t.run_batches.c.run_id == run_id)
            .order_by(t.run_batches.c.seq.desc())
            .limit(1)
        ).scalar()
        or 0
    )
    conn.execute(
        t.run_batches.insert().values(
            run_id=run_id,
            phase=phase,
            stream=stream,
            seq=seq + 1,
            cursor=cursor,
            at=now(),
            **stats.as_dict(),
        )
    )
    conn.execute(
        update(t.runs)
        .where(t.runs.c.id == run_id)
        .values({getattr(t.runs.c, c): getattr(t.runs.c, c) + getattr(stats, c) for c in COUNTERS})
    )


def complete_run(conn: Connection, run_id: str) -> str:
    """End a run that went through all its phases: ``success``, or ``success_with_failures``
    when any of its records failed. The state it ended in."""
    failed = conn.execute(select(t.runs.c.failed).where(t.runs.c.id == run_id)).scalar()
    state = SUCCESS_WITH_FAILURES if failed else SUCCESS
    finish_run(conn, run_id, state)
    return state


def finish_run(conn: Connection, run_id: str, state: str, error: str | None = None) -> None:
    conn.execute(
        update(t.runs)
        .where(t.runs.c.id == run_id)
        .values(state=state, finished_at=now(), error=error)
    )


def get_run(conn: Connection, run_id: str):
    return conn.execute(select(t.runs).where(t.runs.c.id == run_id)).first()


def list_runs(
    conn: Connection,
    exchange: str | None = None,
    limit: int = 50,
    before: dt.datetime | None = None,
):
    """Runs newest first; ``before`` pages on (the last start time of the previous page)."""
    q = select(t.runs).order_by(t.runs.c.started_at.desc()).limit(limit)
    if exchange:
        q = q.where(t.runs.c.exchange == exchange)
    if before is not None:
        q = q.where(t.runs.c.started_at < before)
    return list(conn.execute(q))


def batches_of(conn: Connection, run_id: str):
    return list(
        conn.execute(
            select(t.run_batches)
            .where(t.run_batches.c.run_id == run_id)
            .order_by(t.run_batches.c.seq)
        )
    )


def get_cursor(conn: Connection, exchange: str, stream: str) -> str | None:
    return conn.execute(
        select(t.cursors.c.value).where(
            t.cursors.c.exchange == exchange, t.cursors.c.stream == stream
        )
    ).scalar()


def set_cursor(conn: Connection, exchange: str, stream: str, value: str | None) -> None:
    done = conn.execute(
        update(t.cursors)
        .where(t.cursors.c.exchange == exchange, t.cursors.c.stream == stream)
        .values(value=value, updated_at=now())
    )
    if done.rowcount == 0:
        conn.execute(
            t.cursors.insert().values(
                exchange=exchange, stream=stream, value=value, updated_at=now()
            )
        )
