"""Replays run in the background (:mod:`hub.engine.replay_jobs`): one row per job, its
progress moved on as it goes, read by whichever dashboard process is asked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from hub.store import schema as t
from hub.store.records import now

RUNNING, FINISHED, FAILED = "running", "finished", "failed"
#: a running job not moved on for this long: the process that ran it has stopped
STALL = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Job:
    id: int
    actor: str
    selection: str
    total: int
    done: int
    replayed: int
    not_replayed: int
    state: str
    error: str | None
    started_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    def stalled(self, at: dt.datetime) -> bool:
        """Running, but not moved on for :data:`STALL`: its process stopped."""
        updated = self.updated_at.replace(tzinfo=self.updated_at.tzinfo or dt.UTC)
        return self.state == RUNNING and at - updated > STALL


def create(conn: Connection, actor: str, selection: str, total: int) -> int:
    stamp = now()
    return conn.execute(
        insert(t.replay_jobs).values(
            actor=actor,
            selection=selection[:2000],
            total=total,
            done=0,
            replayed=0,
            not_replayed=0,
            state=RUNNING,
            started_at=stamp,
            updated_at=stamp,
        )
    ).inserted_primary_key[0]


def advance(conn: Connection, job_id: int, *, done: int, replayed: int, not_replayed: int):
    conn.execute(
        update(t.replay_jobs)
        .where(t.replay_jobs.c.id == job_id)
        .values(done=done, replayed=replayed, not_replayed=not_replayed, updated_at=now())
    )


def finish(conn: Connection, job_id: int, state: str, error: str | None = None) -> None:
    stamp = now()
    conn.execute(
        update(t.replay_jobs)
        .where(t.replay_jobs.c.id == job_id)
        .values(state=state, error=error, updated_at=stamp, finished_at=stamp)
    )


def get(conn: Connection, job_id: int) -> Job | None:
    row = conn.execute(select(t.replay_jobs).where(t.replay_jobs.c.id == job_id)).first()
    return Job(**row._mapping) if row else None
