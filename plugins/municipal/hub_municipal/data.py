"""Deterministic synthetic data of the municipal case system's sandbox.

The same people as every other sandbox with the same seed (:func:`hub.synthetic.person`):
person ``i`` is client ``C-<i>`` with one service episode ``E-<i>`` (KTT mostly; active,
ended or interrupted, a few planned) and, for every fourth person, an activation plan
``P-<i>``. An episode that has started has attendance weeks ``A-<i><ww>`` (its latest
:data:`ATTENDANCE_WEEKS` weeks) and, for most people, a Kykyviisari self-assessment
``K-<i>0`` near its start and a follow-up ``K-<i>1`` some months later. Every episode names
its referral date and municipality; an ended or interrupted one is followed up 3 and 6
months later (``S-<i><1|2>``) and most ended ones have the client's feedback (``F-<i>``):
:mod:`.measures`. One client in 25 has forbidden the disclosure of their data (``D-<i>``,
:mod:`.prohibitions`); some received income support (``T-<i><nn>``, one a month and kind:
:mod:`.income_support`). The records are spread over three past nightly exports, person
``i`` in export ``i % 3`` (:mod:`.seeded`). Records are generated on demand, so a sandbox
of 200 000 people holds no XML (and no list of records) in memory. Free text is in the
client's language (:mod:`.texts`: Swedish for ``sv``).

Attendance is true to the decision: only days inside the decided period (the start to the
actual end, or else the planned end, both included), at most the decided days a week —
except the deliberate rule breakers of :data:`BREAKERS`, one of each kind in every hundred
people (persons 1, 2 and 4, 101, 102 and 104, …), so that the hub's rules have something
to catch in any sandbox of five people or more:

- ``six_days`` (person 1 + 100 k, two days a week decided): one week of six attended days,
  Monday to Saturday (Kela pays the allowance for at most five days a week);
- ``after_end`` (person 2 + 100 k, an ended episode): attendance goes on for a week after
  the decided period ended (days after ``actualEndDate``);
- ``over_decided`` (person 4 + 100 k, one day a week decided): one week of three attended
  days, more than decided though fewer than Kela's five.

Social rehabilitation has attendance too (it is genuine); it gives no expense allowance, and
the hub keeps it from Kela by rule.

Dates and counts depend only on ``i`` (:func:`schedule`), so the export listing can count the
records without generating them; names, identity codes and scores depend on the seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hub.model import iso_week_of
from hub.synthetic import Person, practice_model_for
from hub_municipal import mapping as m
from hub_municipal import measures
from hub_municipal.prohibitions import (  # noqa: F401 - given out as this module's own
    PROHIBITION_EVERY,
    has_prohibition,
    prohibition,
)
from hub_municipal.texts import GOALS, INTERRUPTIONS, MEASURES, OFFICIAL, language

#: the seeded nightly exports, oldest first
EXPORT_IDS = ("2026-11-20", "2026-11-21", "2026-11-22")
GENERATED_AT = "T23:30:00+02:00"
PROVIDER = "0211675-2"
#: the interruption reasons in Finnish (texts.INTERRUPTIONS has them in Swedish too)
REASONS = tuple(dict.fromkeys(reason["fi"] for reason, _, _ in INTERRUPTIONS))
#: where clients went when an episode ended as planned: 5 in 12 moved on (to open work, pay
#: subsidy, a work trial, studies or another service); with 3 in 11 of the interrupted
#: ones, about 35 % overall
ENDED_OUTCOMES = (
    "TYO",
    "EI-MUUTOSTA",
    "KOULUTUS",
    "EI-TIEDOSSA",
    "MUU-PALVELU",
    "EI-MUUTOSTA",
    "PALKKATUKI",
    "EI-MUUTOSTA",
    "TYOKOKEILU",
    "EI-MUUTOSTA",
    "EI-TIEDOSSA",
    "EI-MUUTOSTA",
)
#: the last night of the seeded exports: no attendance or assessment after it
TODAY = dt.date(2026, 11, 22)
#: weeks of attendance exported per episode (the latest ones)
ATTENDANCE_WEEKS = 8
#: the deliberate rule breakers of the attendance (see the module): person ``i`` is one
#: when ``i % BREAKER_EVERY`` is a key
SIX_DAYS, AFTER_END, OVER_DECIDED = "six_days", "after_end", "over_decided"
BREAKER_EVERY = 100
BREAKERS = {1: SIX_DAYS, 2: AFTER_END, 4: OVER_DECIDED}
#: how long attendance goes on after the decided end (``after_end``)
AFTER_END_DAYS = 7
#: change of a Kykyviisari scale between the first assessment and the follow-up (mean +0.7)
SCORE_CHANGES = (-2, -1, 0, 0, 1, 1, 1, 2, 2, 3)


@dataclass(frozen=True)
class Schedule:
    """The dates of person ``i``'s episode, which every generated record follows."""

    status: str
    start: dt.date
    #: the decided last day: six months from the start (twelve for an active episode)
    planned_end: dt.date
    #: the actual end (ended and interrupted episodes)
    end: dt.date | None
    days_per_week: int
    #: the kind of deliberate rule breaker the attendance is (:data:`BREAKERS`), if any
    breaker: str | None = None

    @property
    def last_day(self) -> dt.date:
        """The last day the episode may have activity on: the end of the decided period
        (the actual end, or else the planned end), or the export night."""
        return min(self.end or self.planned_end, TODAY)

    @property
    def attendance_end(self) -> dt.date:
        """The last day attendance is recorded on: :attr:`last_day`, or a week after the
        decided end for an ``after_end`` breaker."""
        if self.breaker == AFTER_END and self.end is not None:
            return min(self.end + dt.timedelta(days=AFTER_END_DAYS), TODAY)
        return self.last_day


def months_end(start: dt.date, months: int) -> dt.date:
    """The last day of a period of ``months`` calendar months from ``start`` (inclusive)."""
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(start.day, days)) - dt.timedelta(days=1)


def schedule(i: int) -> Schedule:
    if i % 10 == 9:
        start = dt.date(2027, 1, 4) + dt.timedelta(days=i % 30)
        return Schedule("PLANNED", start, months_end(start, 6), None, 1 + i % 4)
    status = ("ACTIVE", "ACTIVE", "ENDED", "INTERRUPTED")[i % 4]
    start = dt.date(2026, 1, 5) + dt.timedelta(days=(i * 5) % 150)
    length = {"ENDED": 150, "INTERRUPTED": 40}.get(status)
    end = start + dt.timedelta(days=length) if length else None
    planned = months_end(start, 12 if status == "ACTIVE" else 6)
    return Schedule(status, start, planned, end, 1 + i % 4, BREAKERS.get(i % BREAKER_EVERY))


def record_id(element: str, number: int) -> str:
    return f"{m.BY_ELEMENT[element].id_prefix}-{number:06d}"


def first_import_number(size: int) -> int:
    """Imported records are numbered above every seeded one: E-100001 for small sandboxes."""
    return max(100_000, 10 ** len(str(size)))


def is_seeded(element: str, rid: str, size: int) -> bool:
    """Whether ``rid`` names a seeded record of kind ``element``."""
    prefix, _, number = rid.partition("-")
    if prefix != m.BY_ELEMENT[element].id_prefix or not number.isdigit():
        return False
    i = int(number)
    return i < size and (element != "plan" or has_plan(i))


def has_plan(i: int) -> bool:
    return i % 4 == 0


def client(p: Person) -> dict[str, Any]:
    return {
        "hetu": p.hetu,
        "firstName": p.first_name,
        "lastName": p.last_name,
        "homeMunicipality": p.home_municipality,
        "language": p.language,
    }


def episode(
    p: Person,
    i: int,
    *,
    seed: int = 1,
    malformed: bool = False,
    municipalities: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``i``-th person's service episode: consistent with the canonical model unless
    ``malformed``; 1–4 days a week and 4–7 hours a day, inside the KTT limits. It follows one
    of the practice models the Innokylä sandbox publishes (:data:`hub.synthetic.PRACTICE_MODELS`)
    and names its referral date and the municipality responsible, one of ``municipalities``
    (:mod:`.measures`); an ended or interrupted one records where the client went (why it
    was interrupted, in the client's language and coded)."""
    sched = schedule(i)
    start, status = sched.start, sched.status
    referral, decision = measures.referral_and_decision(i, start, TODAY)
    fields: dict[str, Any] = {
        "hetu": p.hetu,
        "serviceCode": "SOSKU-RYH" if i % 7 == 6 else "KTT",
        "municipality": measures.municipality(p, i, municipalities),
        "providerBusinessId": PROVIDER,
        "referralDate": referral.isoformat(),
        "decisionDate": decision.isoformat(),
        "startDate": start.isoformat(),
        "plannedEndDate": sched.planned_end.isoformat(),
        "daysPerWeek": str(sched.days_per_week),
        "hoursPerDay": str(4 + i % 4),
        "status": status,
    }
    if sched.end:
        fields["actualEndDate"] = sched.end.isoformat()
    if status == "INTERRUPTED":
        reason, fields["outcome"], code = INTERRUPTIONS[(i // 4) % len(INTERRUPTIONS)]
        fields["interruptionReason"] = reason[language(p.language)]
        fields["interruptionCode"] = code
    social = fields["serviceCode"] != "KTT"
    fields["practiceModel"] = practice_model_for(seed, i, social_rehabilitation=social)
    if status == "ENDED":
        fields["outcome"] = ENDED_OUTCOMES[(i // 4) % len(ENDED_OUTCOMES)]
    if malformed:  # valid against export.xsd, but it ends before it starts: the model refuses
        fields["status"] = "ENDED"
        fields["actualEndDate"] = (start - dt.timedelta(days=10)).isoformat()
        fields.pop("interruptionReason", None)
        fields.pop("interruptionCode", None)
    return fields


def plan(p: Person, i: int) -> dict[str, Any]:
    """The ``i``-th person's activation plan, written in the client's language."""
    drawn = dt.date(2025, 12, 1) + dt.timedelta(days=i % 120)
    lang = language(p.language)
    goals, measures = GOALS[lang], MEASURES[lang]
    return {
        "hetu": p.hetu,
        "drawnUp": drawn.isoformat(),
        "goal": [goals[i % 3], goals[(i + 1) % 3]],
        "measure": [measures[i % 3]],
        "official": OFFICIAL[lang],
        "reviewDate": (drawn + dt.timedelta(days=120)).isoformat(),
    }


def _weeks(sched: Schedule) -> tuple[dt.date, int]:
    """(the Monday of the episode's first week, how many weeks up to the attendance end)."""
    first = sched.start - dt.timedelta(days=sched.start.weekday())
    return first, (sched.attendance_end - first).days // 7 + 1


def scheduled_days(sched: Schedule, week: int, total: int) -> int:
    """The days from Monday on the client is to attend in week ``week`` (from 0) of the
    ``total``: the decided days a week, but six (``six_days``) or two more than decided
    (``over_decided``) in the week before the last."""
    if week == total - 2 and sched.breaker == SIX_DAYS:
        return 6
    if week == total - 2 and sched.breaker == OVER_DECIDED:
        return sched.days_per_week + 2
    return sched.days_per_week


def is_breaking_week(sched: Schedule, week: int, total: int) -> bool:
    """Whether week ``week`` of ``total`` is the week of a ``six_days`` or ``over_decided``
    breaker (nobody is absent in it: every scheduled day is attended)."""
    return week == total - 2 and sched.breaker in (SIX_DAYS, OVER_DECIDED)


def attendance_weeks(i: int) -> Iterator[tuple[int, dt.date, list[dt.date], list[dt.date]]]:
    """(week number, Monday, attended dates, absent dates) of person ``i``'s latest weeks in
    the episode: the decided days a week from Monday on, inside the decided period; the last
    day of the week missed now and then; the rule breakers of :data:`BREAKERS` aside."""
    sched = schedule(i)
    if sched.status == "PLANNED" or sched.attendance_end < sched.start:
        return
    first, total = _weeks(sched)
    shown = min(total, ATTENDANCE_WEEKS)
    for w in range(shown):
        week = total - shown + w
        monday = first + dt.timedelta(weeks=week)
        days = [monday + dt.timedelta(days=d) for d in range(scheduled_days(sched, week, total))]
        days = [d for d in days if sched.start <= d <= sched.attendance_end]
        if not days:
            continue
        missed = len(days) > 1 and (i + w) % 5 == 0 and not is_breaking_week(sched, week, total)
        absent = days[-1:] if missed else []
        yield w, monday, [d for d in days if d not in absent], absent


def attendance_week_count(i: int) -> int:
    """How many weeks :func:`attendance_weeks` yields, by date arithmetic alone: every week
    up to the one of the attendance end has days, except a first week whose days all fall
    before the start."""
    sched = schedule(i)
    if sched.status == "PLANNED" or sched.attendance_end < sched.start:
        return 0
    _, total = _weeks(sched)
    if total > ATTENDANCE_WEEKS:
        return ATTENDANCE_WEEKS
    return total - (1 if sched.start.weekday() >= scheduled_days(sched, 0, total) else 0)


def attendance(p: Person, i: int, ep: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(week number, fields) of the person's attendance weeks (:func:`attendance_weeks`).
    A rule breaker's week is valid here (the case system records what happened); Kela pays
    at most five days a week, and the hub's rules hold back days outside the decision."""
    for w, monday, attended, absent in attendance_weeks(i):
        yield (
            w,
            {
                "hetu": p.hetu,
                "serviceCode": ep["serviceCode"],
                "episodeStart": ep["startDate"],
                "providerBusinessId": PROVIDER,
                "week": iso_week_of(monday),
                "attendedDate": [d.isoformat() for d in attended],
                "absentDate": [d.isoformat() for d in absent],
            },
        )


def assessment_dates(i: int) -> list[dt.date]:
    """When person ``i`` filled in Kykyviisari: within two weeks of the start (one in eight
    people never did) and, unless the episode ended first or the person missed it (one in
    six), three to five months later."""
    sched = schedule(i)
    if sched.status == "PLANNED" or i % 8 == 5:
        return []
    first = sched.start + dt.timedelta(days=i % 14)
    later = sched.start + dt.timedelta(days=90 + (i * 13) % 60)
    if first > sched.last_day:
        return []
    return [first] if later > sched.last_day or i % 6 == 1 else [first, later]


def assessments(p: Person, i: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(number, fields) of the person's Kykyviisari self-assessments: 0–10 on every scale,
    the follow-up a little better on average (some scales worse); now and then a scale is
    left blank in the first one."""
    rng = random.Random(f"municipal-kykyviisari/{p.hetu}")
    first = {scale: rng.randint(2, 7) for scale in _SCALES}
    blank = _SCALES[1 + rng.randrange(len(_SCALES) - 1)] if rng.random() < 0.1 else None
    later = {s: max(0, min(10, v + rng.choice(SCORE_CHANGES))) for s, v in first.items()}
    for n, when in enumerate(assessment_dates(i)):
        scores = first if n == 0 else later
        fields: dict[str, Any] = {"hetu": p.hetu, "assessedOn": when.isoformat()}
        fields.update({s: str(v) for s, v in scores.items() if not (n == 0 and s == blank)})
        yield n, fields


#: the Kykyviisari scales, native names (work ability first: always filled in)
_SCALES = ("workAbility", "keho", "mieli", "taidot", "arki", "osallisuus")
