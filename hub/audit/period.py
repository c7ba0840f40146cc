"""The time a client's log extract covers, in Finnish time (:mod:`hub.audit.extract`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import HubError

#: how far back an extract reaches unless asked otherwise (§ 11: two years by default)
DEFAULT_YEARS = 2


def _zone() -> dt.tzinfo:
    """Finnish time for the document (every time also carries its offset); UTC where the
    system has no time-zone data."""
    try:
        return ZoneInfo("Europe/Helsinki")
    except ZoneInfoNotFoundError:  # pragma: no cover - a system without tzdata
        return dt.UTC


ZONE = _zone()


class ExtractError(HubError):
    """The extract cannot be made as asked (the message says why, never quoting a code)."""


def _local(value: dt.datetime) -> dt.datetime:
    """A stored time (SQLite gives it back naive; the store writes UTC) in Finnish time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZONE)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZONE)


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Period:
    """The time an extract covers: from ``start`` up to, not including, ``end``."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def parse(
        cls, first: str | None, last: str | None, *, now: dt.datetime | None = None
    ) -> Period:
        """From the date ``first`` to the end of the date ``last`` (YYYY-MM-DD, Finnish
        time). Without ``last``: up to now; without ``first``: two years before the end.
        The end is never later than now, so the same period read again gives the same rows."""
        now = (now or dt.datetime.now(dt.UTC)).astimezone(ZONE)
        end = now if not last else min(now, _midnight(_date(last, "to") + dt.timedelta(days=1)))
        start = (
            _midnight(_date(first, "from"))
            if first
            else _midnight(_years_back(end.date(), DEFAULT_YEARS))
        )
        if start >= end:
            raise ExtractError(
                "the period is empty: its start (from) must come before its end (to) and now"
            )
        return cls(start, end)

    @property
    def first_day(self) -> dt.date:
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(microseconds=1)).date()

    @property
    def label(self) -> str:
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The bounds in UTC, as the store keeps times."""
        return self.start.astimezone(dt.UTC), self.end.astimezone(dt.UTC)


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ExtractError(f"the {name} date is not a date in the form YYYY-MM-DD") from None
