"""The documented relations between published figures, written as an attacker would.

Each figure gives away *quantities* (names as in :mod:`hub.indicators.cells`, ``base@where``
with ``where`` a municipality code, ``*`` for all municipalities and ``?`` for the people of
no published municipality): a count is one; a share its part and its whole; a mean the
people it rests on (``_n``) and the sum of their values (``_sum``); the mean per session the
sessions and the attended days; the attendance rate the attended and the absent days. What
an attacker knows of them, from the indicators' documentation alone:

- the municipalities' quantities add up to the model's (plus the people of no published
  municipality, >= 0) — all but sessions, which municipalities share;
- the transitions add up to ``ended``; ``moved_on_share`` = moved-on transitions /
  (ended - transitions ``unknown``); ``interruption_rate`` = interruptions of every reason,
  ``uncoded`` too / ended; ``feedback_satisfied_share`` and ``feedback_mean`` rest on the
  same answers (1–4; satisfied: 3 or 4); a Kykyviisari change is -10..10;
- ``ended``, and the people of every mean and share, are among the participants;
- a published number is exact up to its rounding (one decimal: +-0.05), and a published
  mean or share rests on at least 5 people; ``"<5"`` on a count is 1..4, on a mean or share
  0..4 people; ``"x"`` says only that the figure exists (>= 0).

:func:`system` writes a snapshot's figures and these relations as a
:class:`~support.solver.System`; ``rounded=False`` leaves out the rounded figures (the
complements attack works on counts alone).
"""

from __future__ import annotations

from fractions import Fraction

from hub.model import KYKYVIISARI_SCALES, MOVED_ON, EpisodeOutcome, InterruptionReason
from support.releases import CONFIDENTIAL, SMALL, Snapshot
from support.solver import BIG, System

OUTCOMES = tuple(o.value for o in EpisodeOutcome)
MOVED = tuple(sorted(o.value for o in MOVED_ON))
REASONS = (*(r.value for r in InterruptionReason), "uncoded")

SCALES = tuple(f"kyky_{s}" for s in KYKYVIISARI_SCALES)
#: code -> base quantity of a count (per category for the categorised ones)
COUNTS = {
    "participants": lambda c: "participants",
    "sessions_held": lambda c: "sessions",
    "ended": lambda c: "ended",
    "transitions": lambda c: f"to_{c}",
    "interruptions": lambda c: f"why_{c}",
}
#: code -> (whole, part) of a share
SHARES = {
    "moved_on_share": ("known", "moved"),
    "interruption_rate": ("ended", "interrupted"),
    "feedback_satisfied_share": ("feedback_n", "satisfied"),
    "follow_up_3m_moved_on_share": ("fu3_known", "fu3_moved"),
    "follow_up_6m_moved_on_share": ("fu6_known", "fu6_moved"),
}
#: code -> base of a mean (``base_n`` people, ``base_sum`` their values)
MEANS = {
    "waiting_days_mean": "waiting",
    "feedback_mean": "feedback",
    **{f"kykyviisari_change_{s}": f"kyky_{s}" for s in KYKYVIISARI_SCALES},
}
#: quantities that count people (a value of 1..4 is a small group)
PEOPLE = frozenset(
    {
        "participants",
        "ended",
        "known",
        "moved",
        "interrupted",
        "satisfied",
        "waiting_n",
        "feedback_n",
        *(f"to_{o}" for o in OUTCOMES),
        *(f"why_{r}" for r in REASONS),
        *(f"{s}_n" for s in SCALES),
        *(f"fu{m}_{p}" for m in (3, 6) for p in ("known", "moved")),
    }
)
#: (whole, part) pairs: a part of 0 or of the whole is a fact about every member
PARTS = (*SHARES.values(), ("planned", "attended"))
MAIN_BASES = (
    *sorted(PEOPLE - {f"fu{m}_{p}" for m in (3, 6) for p in ("known", "moved")}),
    "sessions",
    "attended",
    "absent",
    "planned",
    "waiting_sum",
    "feedback_sum",
    *(f"{s}_sum" for s in SCALES),
)
FOLLOW_UP_BASES = tuple(f"fu{m}_{p}" for m in (3, 6) for p in ("known", "moved"))
NOT_ADDITIVE = frozenset({"sessions"})
#: a mean or share on fewer people is "<5", never a number (the documented threshold)
FEW = 5
SIGNED = frozenset(f"{s}_sum" for s in SCALES)


def q(base: str, where: str | None) -> str:
    return f"{base}@{where or '*'}"


def base_of(name: str) -> str:
    return name.partition("@")[0]


def where_of(name: str) -> str:
    return name.partition("@")[2]


def groups(snapshot: Snapshot) -> list[str]:
    """``*``, each municipality of the snapshot and, when there are any, ``?``."""
    places = snapshot.municipalities
    return ["*", *places, "?"] if places else ["*"]


def system(snapshot: Snapshot, *, rounded: bool = True, same_scales: bool = False) -> System:
    """The snapshot's figures and the documented relations as one system. ``same_scales``
    adds an assumption: the six Kykyviisari scales rest on the same people."""
    s = System()
    follow_up = snapshot.family[2] == "follow_up"
    bases = FOLLOW_UP_BASES if follow_up else MAIN_BASES
    places = groups(snapshot)
    caps = _caps(snapshot, places)
    for where in places:
        for base in bases:
            low = -BIG if base in SIGNED else 0
            s.unknown(q(base, where), low, caps[where] if base in PEOPLE else BIG)
        if follow_up:
            for m in (3, 6):
                s.add({q(f"fu{m}_moved", where): 1, q(f"fu{m}_known", where): -1}, high=0)
        else:
            _within(s, where)
    if len(places) > 1:
        for base in bases:
            if base not in NOT_ADDITIVE:
                s.equal({q(base, "*"): 1, **{q(base, w): -1 for w in places[1:]}})
    if same_scales and not follow_up:
        for where in places:
            for scale in SCALES[1:]:
                s.equal({q(f"{SCALES[0]}_n", where): 1, q(f"{scale}_n", where): -1})
    for (code, category, muni), value in snapshot.cells.items():
        _figure(s, code, category, muni, value, rounded)
    return s


def _caps(snapshot: Snapshot, places: list[str]) -> dict[str, int]:
    """The most people of each group: its published participants, or the model's. (Bounds,
    not relations: the means and shares stay apart from the counts, which keeps the search
    for solutions small.)"""
    published = {
        m or "*": int(v)
        for (code, _, m), v in snapshot.cells.items()
        if code == "participants" and v not in (SMALL, CONFIDENTIAL)
    }
    every = published.get("*", BIG)
    return {w: published.get(w, 4 if _small(snapshot, w) else every) for w in places}


def _small(snapshot: Snapshot, where: str) -> bool:
    muni = None if where == "*" else where
    return snapshot.cells.get(("participants", None, muni)) == SMALL


def _within(s: System, w: str) -> None:
    """The relations inside one group of people."""
    s.equal({q("ended", w): 1, **{q(f"to_{o}", w): -1 for o in OUTCOMES}})
    s.equal({q("known", w): 1, q("ended", w): -1, q("to_unknown", w): 1})
    s.equal({q("moved", w): 1, **{q(f"to_{o}", w): -1 for o in MOVED}})
    s.equal({q("interrupted", w): 1, **{q(f"why_{r}", w): -1 for r in REASONS}})
    s.equal({q("planned", w): 1, q("attended", w): -1, q("absent", w): -1})
    s.add({q("ended", w): 1, q("participants", w): -1}, high=0)
    s.add({q("interrupted", w): 1, q("ended", w): -1}, high=0)
    s.add({q("satisfied", w): 1, q("feedback_n", w): -1}, high=0)
    s.add({q("sessions", w): 1, q("attended", w): -1}, high=0)
    # answers 1..4, satisfied ones 3..4: n + 2 satisfied <= sum <= 2 n + 2 satisfied
    n, sat, total = q("feedback_n", w), q("satisfied", w), q("feedback_sum", w)
    s.add({total: 1, n: -1, sat: -2}, low=0)
    s.add({total: 1, n: -2, sat: -2}, high=0)
    for scale in SCALES:
        n, total = q(f"{scale}_n", w), q(f"{scale}_sum", w)
        s.add({total: 1, n: 10}, low=0)
        s.add({total: 1, n: -10}, high=0)


def _interval(s: System, part: str, whole: str, value: str, times: int, least: int) -> None:
    """``part / whole * times`` rounds to ``value`` (one decimal): within +-0.05; and a
    published figure rests on at least ``least``."""
    v = Fraction(value)
    s.add({whole: 1}, low=least)
    s.add({part: times, whole: -(v - Fraction(1, 20))}, low=0)
    s.add({part: times, whole: -(v + Fraction(1, 20))}, high=0)


def _figure(s: System, code, category, muni, value: str, rounded: bool) -> None:
    where = muni or "*"
    if code in COUNTS:
        name = q(COUNTS[code](category), where)
        if value == SMALL:
            s.unknown(name, 1, BIG if code == "sessions_held" else 4)
        elif value != CONFIDENTIAL:
            s.equal({name: 1}, Fraction(value))
        return
    if value == CONFIDENTIAL:
        return
    if code in SHARES:
        whole, part = (q(b, where) for b in SHARES[code])
        if value == SMALL:
            s.unknown(whole, 0, 4)
        elif rounded:
            _interval(s, part, whole, value, 100, FEW)
    elif code in MEANS:
        n, total = q(f"{MEANS[code]}_n", where), q(f"{MEANS[code]}_sum", where)
        if value == SMALL:
            s.unknown(n, 0, 4)
        elif rounded:
            _interval(s, total, n, value, 1, FEW)
    elif code == "mean_participants_per_session" and value != SMALL and rounded:
        _interval(s, q("attended", where), q("sessions", where), value, 1, 1)
    elif code == "attendance_rate" and value != SMALL and rounded:
        _interval(s, q("attended", where), q("planned", where), value, 100, 1)
