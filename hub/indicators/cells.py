"""The figures of one practice model's period, before disclosure control: one :class:`Cell`
per indicator, category and municipality, with every person's contribution to it.

Each cell also names the *quantities* its published value would give away (a share gives
away its part and its whole; an attendance rate the attended and the planned days), under
names the relations between figures use (:mod:`hub.indicators.relations`): the control
audits those, never the rounded figures.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from hub.indicators.people import UNCODED, Person, Token
from hub.model import (
    KYKYVIISARI_SCALES,
    MOVED_ON,
    EpisodeOutcome,
    IndicatorCode,
    InterruptionReason,
    Suppression,
)

#: the municipality of people whose episode names none: never published, but its figures
#: are part of the relations (the model's total minus the municipalities' is theirs)
UNKNOWN = "?"
COUNT, SHARE, MEAN, RATE, SESSIONS, PER_SESSION = (
    "count",
    "share",
    "mean",
    "rate",
    "sessions",
    "per_session",
)
C = IndicatorCode
OUTCOMES = tuple(str(o) for o in EpisodeOutcome)
MOVED = tuple(str(o) for o in MOVED_ON)
REASONS = (*(str(r) for r in InterruptionReason), UNCODED)
UNITS = {
    C.PARTICIPANTS: "persons",
    C.SESSIONS_HELD: "sessions",
    C.MEAN_PARTICIPANTS_PER_SESSION: "persons",
    C.ATTENDANCE_RATE: "%",
    C.ENDED: "persons",
    C.MOVED_ON_SHARE: "%",
    C.TRANSITIONS: "persons",
    C.INTERRUPTION_RATE: "%",
    C.INTERRUPTIONS: "persons",
    C.WAITING_DAYS: "days",
    C.FOLLOW_UP_3M: "%",
    C.FOLLOW_UP_6M: "%",
    C.FEEDBACK_MEAN: "1-4",
    C.FEEDBACK_SATISFIED: "%",
}
FOLLOW_UP_CODES = {C.FOLLOW_UP_3M: 3, C.FOLLOW_UP_6M: 6}


@dataclass
class Cell:
    """One figure: ``code`` (and ``category``) for ``municipality`` (None: all of them)."""

    code: IndicatorCode
    category: str | None
    municipality: str | None
    kind: str
    #: token -> what the person contributes (compared between releases)
    people: dict[Token, Hashable]
    value: float | None
    #: quantity name -> its value: what publishing the figure gives away
    quantities: dict[str, float] = field(default_factory=dict)
    suppression: Suppression | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return (str(self.code), self.category, self.municipality)

    @property
    def published(self) -> bool:
        return self.suppression is None and self.municipality != UNKNOWN

    @property
    def unit(self) -> str:
        if self.code.startswith("kykyviisari_change_"):
            return "points"
        return UNITS[self.code]


def q(name: str, municipality: str | None) -> str:
    """A quantity's name in the relations: ``ended@743``, ``ended@*`` for all."""
    return f"{name}@{municipality or '*'}"


def _count(code, category, where, people: dict[Token, Person], name: str, pick) -> Cell:
    members = {t: 1 for t, p in people.items() if pick(p)}
    n = len(members)
    return Cell(code, category, where, COUNT, members, float(n), {q(name, where): n})


def _share(code, where, people, base: str, part: str, pick, hit) -> Cell:
    """The percentage of the people ``pick`` gives (with a value) for whom ``hit`` holds."""
    members = {t: bool(hit(v)) for t, p in people.items() if (v := pick(p)) is not None}
    n, s = len(members), sum(members.values())
    value = 100.0 * s / n if n else None
    return Cell(code, None, where, SHARE, members, value, {q(base, where): n, q(part, where): s})


def _mean(code, where, people, base: str, pick) -> Cell:
    members = {t: v for t, p in people.items() if (v := pick(p)) is not None}
    n, total = len(members), sum(members.values())
    value = total / n if n else None
    quantities = {q(f"{base}_n", where): n, q(f"{base}_sum", where): total}
    return Cell(code, None, where, MEAN, members, value, quantities)


def _attendance(where, people: dict[Token, Person]) -> list[Cell]:
    came = {t: p for t, p in people.items() if p.sessions or p.absent_days}
    sessions = set().union(*(p.sessions for p in came.values())) if came else set()
    attended = sum(len(p.sessions) for p in came.values())
    planned = attended + sum(p.absent_days for p in came.values())
    contributions = {t: (len(p.sessions), p.absent_days) for t, p in came.items()}
    n_sessions = len(sessions)
    days = {q("attended_days", where): attended, q("planned_days", where): planned}
    return [
        Cell(
            C.SESSIONS_HELD,
            None,
            where,
            SESSIONS,
            contributions,
            float(n_sessions),
            {q("sessions", where): n_sessions},
        ),
        Cell(
            C.MEAN_PARTICIPANTS_PER_SESSION,
            None,
            where,
            PER_SESSION,
            contributions,
            attended / n_sessions if n_sessions else None,
            {q("sessions", where): n_sessions, q("attended_days", where): attended},
        ),
        Cell(
            C.ATTENDANCE_RATE,
            None,
            where,
            RATE,
            contributions,
            100.0 * attended / planned if planned else None,
            days,
        ),
    ]


def _outcome(p: Person) -> str | None:
    return p.ended.outcome if p.ended else None


def _known_outcome(p: Person) -> str | None:
    return p.ended.outcome if p.ended and p.ended.outcome != "unknown" else None


def _reason(p: Person) -> str | None:
    return p.ended.reason if p.ended else None


def _satisfaction(p: Person) -> int | None:
    return p.ended.satisfaction if p.ended else None


def main_cells(people: dict[Token, Person], where: str | None) -> list[Cell]:
    """The figures released when the period is final, for the people of ``where``."""
    cells = [_count(C.PARTICIPANTS, None, where, people, "participants", lambda p: True)]
    cells += _attendance(where, people)
    cells.append(_count(C.ENDED, None, where, people, "ended", lambda p: p.ended))
    for o in OUTCOMES:
        pick = lambda p, o=o: _outcome(p) == o  # noqa: E731
        cells.append(_count(C.TRANSITIONS, o, where, people, f"to_{o}", pick))
    cells.append(
        _share(
            C.MOVED_ON_SHARE, where, people, "known", "moved", _known_outcome, MOVED.__contains__
        )
    )
    cells.append(
        _share(
            C.INTERRUPTION_RATE,
            where,
            people,
            "ended",
            "interrupted",
            lambda p: p.ended,
            lambda e: e.interrupted,
        )
    )
    for r in REASONS:
        pick = lambda p, r=r: _reason(p) == r  # noqa: E731
        cells.append(_count(C.INTERRUPTIONS, r, where, people, f"why_{r}", pick))
    cells.append(_mean(C.WAITING_DAYS, where, people, "waiting", lambda p: p.waiting_days))
    cells.append(_mean(C.FEEDBACK_MEAN, where, people, "feedback", _satisfaction))
    cells.append(
        _share(
            C.FEEDBACK_SATISFIED,
            where,
            people,
            "feedback_n",
            "satisfied",
            _satisfaction,
            lambda s: s >= 3,
        )
    )
    for scale in KYKYVIISARI_SCALES:
        change = lambda p, s=scale: p.ended.changes.get(s) if p.ended else None  # noqa: E731
        code = C(f"kykyviisari_change_{scale}")
        cells.append(_mean(code, where, people, f"kyky_{scale}", change))
    return cells


def follow_up_cells(people: dict[Token, Person], where: str | None) -> list[Cell]:
    """The follow-up shares, released six months later than the period's other figures."""
    cells = []
    for code, months in FOLLOW_UP_CODES.items():

        def situation(p: Person, months: int = months) -> str | None:
            s = p.ended.follow_ups.get(months) if p.ended else None
            return None if s in (None, "unknown") else s

        base, part = f"fu{months}_known", f"fu{months}_moved"
        cells.append(_share(code, where, people, base, part, situation, MOVED.__contains__))
    return cells
