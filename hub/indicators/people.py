"""What each person contributes to the figures of one practice model's period.

Every figure counts people, not episodes. A person takes part in a period when one of their
episodes following the model is under way in it. The figures about episodes that ended
(transitions, interruptions, Kykyviisari change, feedback, follow-ups) take the person's
*last* episode that ended in the period: the period of the end is the one the whole path of
the episode is attributed to, so a change measured from October to April is not lost at the
turn of the year. Each person has one municipality per period (that of their latest episode
under way in it), so that the municipalities' figures add up to the model's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hub.indicators.periods import Period, Policy, period_of, periods_between
from hub.model import (
    KYKYVIISARI_SCALES,
    Assessment,
    Attendance,
    EpisodeOutcome,
    EpisodeStatus,
    Feedback,
    FollowUp,
    ServiceEpisode,
)

#: assessments this long before an episode's start or after its end still belong to it
#: (the first assessment is often made at the start meeting, the last at the follow-up)
ASSESSMENT_MARGIN = dt.timedelta(days=30)
UNCODED = "uncoded"
#: a person's token: opaque and stable (the store's subject id), never the identity code
Token = str
FamilyPeriod = tuple[str, Period]


@dataclass(frozen=True)
class Inputs:
    """The canonical records the indicators are computed from."""

    episodes: Sequence[ServiceEpisode] = ()
    attendance: Sequence[Attendance] = ()
    assessments: Sequence[Assessment] = ()
    follow_ups: Sequence[FollowUp] = ()
    feedback: Sequence[Feedback] = ()


@dataclass
class Ended:
    """The person's last episode that ended (or was interrupted) in the period."""

    outcome: str  # an EpisodeOutcome value; "unknown" when not recorded
    interrupted: bool
    reason: str | None  # an InterruptionReason value or UNCODED, when interrupted
    changes: dict[str, int] = field(default_factory=dict)  # Kykyviisari scale -> change
    satisfaction: int | None = None
    follow_ups: dict[int, str] = field(default_factory=dict)  # months -> situation


@dataclass
class Person:
    municipality: str | None = None
    latest_start: dt.date = dt.date.min
    sessions: set[tuple[str, dt.date]] = field(default_factory=set)  # (provider, day) attended
    absent_days: int = 0
    ended: Ended | None = None
    ended_on: tuple[dt.date, dt.date] | None = None  # (end, start) of that episode
    waiting_days: int | None = None
    first_start: dt.date | None = None


def _last_day(ep: ServiceEpisode, today: dt.date) -> dt.date:
    if ep.actual_end_date:
        return ep.actual_end_date
    return min(ep.planned_end_date or today, today)


def gather(
    inputs: Inputs, policy: Policy, today: dt.date, token: Callable[[str], Token]
) -> dict[FamilyPeriod, dict[Token, Person]]:
    """Per (model, period), what each person contributes to its figures."""
    out: dict[FamilyPeriod, dict[Token, Person]] = defaultdict(dict)
    models_of: dict[tuple, list[str]] = defaultdict(list)
    ended: list[tuple[FamilyPeriod, Token, ServiceEpisode]] = []
    for ep in inputs.episodes:
        if not ep.practice_model or ep.status == EpisodeStatus.PLANNED or not ep.start_date:
            continue
        if ep.start_date > today:
            continue
        model, who = ep.practice_model, token(str(ep.client_hetu))
        models_of[ep.key()].append(model)
        for period in periods_between(ep.start_date, _last_day(ep, today), policy):
            p = out[(model, period)].setdefault(who, Person())
            if ep.start_date >= p.latest_start:
                p.latest_start, p.municipality = ep.start_date, ep.municipality_code
        if ep.referral_date:
            p = out[(model, period_of(ep.start_date, policy))][who]
            if p.first_start is None or ep.start_date < p.first_start:
                p.first_start = ep.start_date
                p.waiting_days = (ep.start_date - ep.referral_date).days
        if ep.actual_end_date and ep.actual_end_date <= today:
            key = (model, period_of(ep.actual_end_date, policy))
            p = out[key][who]
            if p.ended_on is None or (ep.actual_end_date, ep.start_date) > p.ended_on:
                p.ended_on = (ep.actual_end_date, ep.start_date)
                ended.append((key, who, ep))
    _attendance(out, inputs.attendance, models_of, policy, token)
    _ended(out, ended, inputs, token)
    return out


def _attendance(out, weeks, models_of, policy: Policy, token) -> None:
    for week in weeks:
        who = token(str(week.client_hetu))
        provider = week.provider_business_id or ""
        for model in set(models_of.get(week.episode_key(), ())):
            for day in week.attended_dates:
                out[(model, period_of(day, policy))].setdefault(who, Person()).sessions.add(
                    (provider, day)
                )
            for day in week.absent_dates:
                out[(model, period_of(day, policy))].setdefault(who, Person()).absent_days += 1


def _ended(out, ended, inputs: Inputs, token) -> None:
    assessed: dict[Token, list[Assessment]] = defaultdict(list)
    for a in inputs.assessments:
        assessed[token(str(a.client_hetu))].append(a)
    answers: dict[tuple, Feedback] = {}
    for f in sorted(inputs.feedback, key=lambda f: f.given_on):
        answers[f.episode_key()] = f
    follow: dict[tuple, FollowUp] = {}
    for f in sorted(inputs.follow_ups, key=lambda f: f.observed_on):
        follow[(*f.episode_key(), f.months_after)] = f
    for key, who, ep in ended:
        person = out[key][who]
        assert ep.actual_end_date and ep.start_date
        if person.ended_on != (ep.actual_end_date, ep.start_date):
            continue  # a later episode of the person ended in the same period
        interrupted = ep.status == EpisodeStatus.INTERRUPTED
        feedback = answers.get(ep.key())
        person.ended = Ended(
            outcome=str(ep.outcome or EpisodeOutcome.UNKNOWN),
            interrupted=interrupted,
            reason=str(ep.interruption_code or UNCODED) if interrupted else None,
            changes=_changes(assessed[who], ep.start_date, ep.actual_end_date),
            satisfaction=feedback.satisfaction if feedback else None,
            follow_ups={
                months: str(f.situation)
                for months in (3, 6)
                if (f := follow.get((*ep.key(), months)))
            },
        )


def _on(a: Assessment) -> dt.date:
    return a.assessed_on


def _changes(assessments: list[Assessment], start: dt.date, end: dt.date) -> dict[str, int]:
    """Each scale's change from the first to the last assessment of the episode."""
    done = sorted(
        (
            a
            for a in assessments
            if start - ASSESSMENT_MARGIN <= a.assessed_on <= end + ASSESSMENT_MARGIN
        ),
        key=lambda a: a.assessed_on,
    )
    changes = {}
    for scale in KYKYVIISARI_SCALES:
        scored = [(a.assessed_on, s[scale]) for a in done if scale in (s := a.scores())]
        if len(scored) >= 2 and scored[0][0] < scored[-1][0]:
            changes[scale] = scored[-1][1] - scored[0][1]
    return changes
