"""The health of every declared exchange, computed from the store: one place for the
dashboard, the metrics endpoint, the alerts and ``hub runs``.

An exchange is **stale** when its last completed run (``success`` or
``success_with_failures``) is older than ``stale_factor`` times its schedule's interval (a
daily exchange with factor 2: no success for two days). Its **status** otherwise follows the
failed records still waiting for an operator: ``ok`` when no dead letter of it is open (an
earlier run's failures replayed or resolved), ``degraded`` while some are, ``failing`` while
some are and its last run failed at least :data:`FAILING_RATIO` of the records it handled.
Nothing here reads client data: only run records and dead-letter counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from croniter import croniter
from sqlalchemy import Connection, func, select

from hub.exchanges import Exchange, HubConfig
from hub.ops import DEFAULT_STALE_FACTOR
from hub.store import schema as t
from hub.store.deadletters import OPEN
from hub.store.runs import COMPLETED

#: the share of the records a run handled that failed, from which an exchange with open
#: dead letters shows ``failing`` (something systematic) rather than ``degraded``
FAILING_RATIO = 0.5

#: presets Airflow accepts besides cron expressions
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Timestamps from SQLite come back naive; the store writes UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def schedule_interval(schedule: str | None, at: dt.datetime) -> dt.timedelta | None:
    """The time between the two runs of ``schedule`` around ``at`` (None: manual only)."""
    if not schedule:
        return None
    expression = PRESETS.get(schedule, schedule)
    if not croniter.is_valid(expression):
        return None
    it = croniter(expression, at)
    previous = it.get_prev(dt.datetime)
    following = croniter(expression, previous).get_next(dt.datetime)
    return following - previous


@dataclass(frozen=True)
class ExchangeHealth:
    name: str
    source: str
    target: str
    schedule: str | None
    last_run_id: str | None
    last_state: str | None
    last_started: dt.datetime | None
    last_finished: dt.datetime | None
    read: int
    delivered: int
    skipped: int
    failed: int
    last_success: dt.datetime | None
    open_dead_letters: int
    interval: dt.timedelta | None
    stale: bool

    @property
    def since_success(self) -> dt.timedelta | None:
        return now() - self.last_success if self.last_success else None

    @property
    def failure_ratio(self) -> float:
        """The share of the records the last run handled (read, or delivered and skipped,
        whichever is more) that failed; 0 with none."""
        handled = max(self.read, self.delivered + self.skipped + self.failed, self.failed)
        return self.failed / handled if handled else 0.0

    @property
    def status(self) -> str:
        """never-run | failed (the last run) | stale | running | failing (open dead letters,
        and the last run failed at least FAILING_RATIO of its records) | degraded (open dead
        letters) | ok."""
        if self.last_state is None:
            return "never-run"
        if self.last_state == "failed":
            return "failed"
        if self.stale:
            return "stale"
        if self.last_state == "running":
            return "running"
        if self.open_dead_letters:
            return "failing" if self.failure_ratio >= FAILING_RATIO else "degraded"
        return "ok"


def exchange_health(
    conn: Connection,
    exchange: Exchange,
    *,
    stale_factor: float = DEFAULT_STALE_FACTOR,
    at: dt.datetime | None = None,
) -> ExchangeHealth:
    at = at or now()
    last = conn.execute(
        select(t.runs)
        .where(t.runs.c.exchange == exchange.name)
        .order_by(t.runs.c.started_at.desc())
        .limit(1)
    ).first()
    last_success = aware(
        conn.execute(
            select(func.max(t.runs.c.finished_at)).where(
                t.runs.c.exchange == exchange.name, t.runs.c.state.in_(COMPLETED)
            )
        ).scalar()
    )
    open_letters = conn.execute(
        select(func.count())
        .select_from(t.dead_letters)
        .where(t.dead_letters.c.status == OPEN, t.dead_letters.c.exchange == exchange.name)
    ).scalar_one()
    interval = schedule_interval(exchange.schedule, at)
    stale = False
    if interval is not None:
        reference = last_success or (aware(last.started_at) if last else None)
        stale = reference is not None and at - reference > interval * stale_factor
    return ExchangeHealth(
        name=exchange.name,
        source=exchange.source,
        target=exchange.target,
        schedule=exchange.timing,
        last_run_id=last.id if last else None,
        last_state=last.state if last else None,
        last_started=aware(last.started_at) if last else None,
        last_finished=aware(last.finished_at) if last else None,
        read=last.read if last else 0,
        delivered=last.delivered if last else 0,
        skipped=last.skipped if last else 0,
        failed=last.failed if last else 0,
        last_success=last_success,
        open_dead_letters=open_letters,
        interval=interval,
        stale=stale,
    )


def all_health(
    conn: Connection,
    config: HubConfig,
    *,
    stale_factor: float = DEFAULT_STALE_FACTOR,
    at: dt.datetime | None = None,
) -> list[ExchangeHealth]:
    at = at or now()
    return [
        exchange_health(conn, x, stale_factor=stale_factor, at=at)
        for x in config.exchanges.values()
    ]
