"""Indicators per practice model, computed from canonical records, safe to publish.

For each practice model and calendar year in which episodes following it were under way:

- ``participants``: people with such an episode during the year;
- ``sessions_held``: distinct (provider, date) on which at least one of them attended;
- ``mean_participants_per_session``: attended person-days per session;
- ``attendance_rate``: attended days as a percentage of attended and absent days;
- ``moved_on_share``: of episodes that ended (or were interrupted) during the year with a
  known outcome, the percentage that led to work, training or another service;
- ``kykyviisari_change_<scale>``: the mean change of each Kykyviisari scale between a
  participant's first and last assessment of the year.

Disclosure control: a count below 5 (:data:`hub.model.SMALL_COUNT`) is never published, nor
is a figure computed from fewer than 5 people; a percentage is also suppressed when the
people it counts, or those it leaves out, number 1–4 (either could be derived from it).
Suppressed indicators are published as ``"<5"``. Only these aggregates leave the function.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.model import (
    KYKYVIISARI_SCALES,
    MOVED_ON,
    SMALL_COUNT,
    Assessment,
    Attendance,
    EpisodeOutcome,
    EpisodeStatus,
    Indicator,
    IndicatorCode,
    ServiceEpisode,
)

EpisodeKey = tuple[str, str, dt.date | None]


def small(n: int) -> bool:
    return 0 < n < SMALL_COUNT


@dataclass
class _Year:
    """What one practice model accumulated during one year."""

    people: set[str] = field(default_factory=set)
    sessions: set[tuple[str, dt.date]] = field(default_factory=set)
    attended: int = 0
    absent: int = 0
    attendees: set[str] = field(default_factory=set)
    ended: int = 0
    moved_on: int = 0


def _years(ep: ServiceEpisode, until: dt.date) -> range:
    end = ep.actual_end_date or min(ep.planned_end_date or until, until)
    assert ep.start_date is not None
    return range(ep.start_date.year, max(ep.start_date.year, end.year) + 1)


def _indicator(
    model: str, year: int, code: IndicatorCode, value: float | None, unit: str = ""
) -> Indicator:
    return Indicator(
        practice_model=model,
        code=code,
        period_start=dt.date(year, 1, 1),
        period_end=dt.date(year, 12, 31),
        value=None if value is None else round(value, 1),
        suppressed=value is None,
        unit=unit,
    )


def _count(n: int) -> float | None:
    return None if small(n) else float(n)


def _share(part: int, whole: int) -> float | None:
    if whole < SMALL_COUNT or small(part) or small(whole - part):
        return None
    return 100.0 * part / whole


def compute(
    episodes: Iterable[ServiceEpisode],
    attendance: Iterable[Attendance],
    assessments: Iterable[Assessment],
    *,
    today: dt.date,
) -> list[Indicator]:
    """Every indicator of every practice model and year, suppressed where it must be."""
    by_key: dict[EpisodeKey, list[str]] = defaultdict(list)
    years: dict[tuple[str, int], _Year] = defaultdict(_Year)
    for ep in episodes:
        if not ep.practice_model or ep.status == EpisodeStatus.PLANNED or not ep.start_date:
            continue
        person = str(ep.client_hetu)
        by_key[ep.key()].append(ep.practice_model)
        for year in _years(ep, today):
            years[(ep.practice_model, year)].people.add(person)
        if ep.actual_end_date and ep.outcome and ep.outcome != EpisodeOutcome.UNKNOWN:
            acc = years[(ep.practice_model, ep.actual_end_date.year)]
            acc.ended += 1
            acc.moved_on += ep.outcome in MOVED_ON

    for week in attendance:
        for model in by_key.get(week.episode_key(), ()):
            provider = week.provider_business_id or ""
            for day in week.attended_dates:
                acc = years[(model, day.year)]
                acc.sessions.add((provider, day))
                acc.attended += 1
                acc.attendees.add(str(week.client_hetu))
            for day in week.absent_dates:
                years[(model, day.year)].absent += 1

    per_person: dict[tuple[str, int], list[Assessment]] = defaultdict(list)
    for a in assessments:
        per_person[(str(a.client_hetu), a.assessed_on.year)].append(a)

    out: list[Indicator] = []
    for (model, year), acc in sorted(years.items()):
        if not acc.people:
            continue
        out.append(_indicator(model, year, IndicatorCode.PARTICIPANTS, _count(len(acc.people))))
        out.append(_indicator(model, year, IndicatorCode.SESSIONS_HELD, _count(len(acc.sessions))))
        enough = len(acc.attendees) >= SMALL_COUNT and len(acc.sessions) >= SMALL_COUNT
        out.append(
            _indicator(
                model,
                year,
                IndicatorCode.MEAN_PARTICIPANTS_PER_SESSION,
                acc.attended / len(acc.sessions) if enough else None,
                "persons",
            )
        )
        planned = acc.attended + acc.absent
        out.append(
            _indicator(
                model,
                year,
                IndicatorCode.ATTENDANCE_RATE,
                100.0 * acc.attended / planned if enough and planned else None,
                "%",
            )
        )
        out.append(
            _indicator(
                model, year, IndicatorCode.MOVED_ON_SHARE, _share(acc.moved_on, acc.ended), "%"
            )
        )
        out.extend(_kykyviisari(model, year, acc.people, per_person))
    return out


def _kykyviisari(
    model: str, year: int, people: set[str], per_person: dict[tuple[str, int], list[Assessment]]
) -> list[Indicator]:
    changes: dict[str, list[int]] = defaultdict(list)
    for person in people:
        done = sorted(per_person.get((person, year), ()), key=lambda a: a.assessed_on)
        if len(done) < 2:
            continue
        first, last = done[0].scores(), done[-1].scores()
        for scale in KYKYVIISARI_SCALES:
            if scale in first and scale in last:
                changes[scale].append(last[scale] - first[scale])
    out = []
    for scale in KYKYVIISARI_SCALES:
        values = changes.get(scale, [])
        mean = sum(values) / len(values) if len(values) >= SMALL_COUNT else None
        out.append(
            _indicator(model, year, IndicatorCode(f"kykyviisari_change_{scale}"), mean, "points")
        )
    return out


def native_id(indicator: Indicator) -> str:
    """The indicator's stable id in the hub: one record per model, period and code."""
    return f"{indicator.practice_model}/{indicator.period_start}/{indicator.code}"
