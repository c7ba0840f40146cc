"""The health of every declared exchange, computed from the store: one place for the
dashboard, the metrics endpoint, the alerts and ``hub runs``.

An exchange is **stale** when its last successful run is older than ``stale_factor`` times
its schedule's interval (a daily exchange with factor 2: no success for two days). Nothing
here reads client data: only run records and dead-letter counts.
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
    failed: int
    last_success: dt.datetime | None
    open_dead_letters: int
    interval: dt.timedelta | None
    stale: bool

    @property
    def since_success(self) -> dt.timedelta | None:
        return now() - self.last_success if self.last_success else None

    @property
    def status(self) -> str:
        """ok | degraded (the last run left failed records) | failed | stale | running |
        never-run."""
        if self.last_state is None:
            return "never-run"
        if self.last_state == "failed":
            return "failed"
        if self.stale:
            return "stale"
        if self.last_state == "running":
            return "running"
        return "degraded" if self.failed else "ok"


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
                t.runs.c.exchange == exchange.name, t.runs.c.state == "success"
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
        schedule=exchange.schedule,
        last_run_id=last.id if last else None,
        last_state=last.state if last else None,
        last_started=aware(last.started_at) if last else None,
        last_finished=aware(last.finished_at) if last else None,
        read=last.read if last else 0,
        delivered=last.delivered if last else 0,
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
