"""The periods figures are published for, and when a period's figures are final.

A period is a calendar quarter, half-year or year (:class:`Policy`). Its figures are
published once, when the period is *closed* (it has ended) and *final* (``final_after_days``
more have passed, for late records to arrive); the follow-up shares wait six months longer,
for the 6-month follow-ups of the episodes that ended in the period.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Literal

PeriodLength = Literal["quarter", "half_year", "year"]
MONTHS: dict[str, int] = {"quarter": 3, "half_year": 6, "year": 12}
#: the families of figures of one model's period: released separately, each when final
MAIN, FOLLOW_UP = "main", "follow_up"
#: how much later than the main figures the follow-up shares are final
FOLLOW_UP_DELAY_MONTHS = 6


@dataclass(frozen=True)
class Policy:
    """How indicators are released: the period length and how long after a period's end
    its figures are final (late records still change them before that)."""

    period: PeriodLength = "quarter"
    final_after_days: int = 60

    def __post_init__(self) -> None:
        if self.period not in MONTHS:
            raise ValueError(f"period: {self.period!r} is not one of {', '.join(MONTHS)}")
        if not 0 <= self.final_after_days <= 3660:
            raise ValueError(f"final_after_days: {self.final_after_days} is not 0–3660")


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        return first <= self.end and last >= self.start


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_of(day: dt.date, policy: Policy) -> Period:
    months = MONTHS[policy.period]
    first_month = (day.month - 1) // months * months + 1
    start = dt.date(day.year, first_month, 1)
    return Period(start, add_months(start, months) - dt.timedelta(days=1))


def periods_between(first: dt.date, last: dt.date, policy: Policy) -> list[Period]:
    """Every period from the one holding ``first`` to the one holding ``last``."""
    out, period = [], period_of(first, policy)
    while period.start <= last:
        out.append(period)
        period = period_of(period.end + dt.timedelta(days=1), policy)
    return out


def final_on(period: Period, group: str, policy: Policy) -> dt.date:
    """The day from which the ``group`` figures of ``period`` are final and published."""
    end = period.end
    if group == FOLLOW_UP:
        end = add_months(end + dt.timedelta(days=1), FOLLOW_UP_DELAY_MONTHS) - dt.timedelta(days=1)
    return end + dt.timedelta(days=policy.final_after_days)
