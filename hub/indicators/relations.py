"""The relations between one family's figures, and what of them must stay unknown.

Published figures give away quantities (:mod:`hub.indicators.cells`) that obey relations
any reader of the indicators' documentation knows:

- equalities (:func:`relations`, :func:`across`): the municipalities' quantities add up to
  the model's, the transitions add up to the people who ended, the moved-on ones to the
  transitions of the moved-on kinds, the interruptions by reason to the interrupted;
- bounds (:func:`limits`): every count is a whole number >= 0, the people who ended are
  among the participants, the interrupted among those who ended, the satisfied among
  those who answered, a satisfaction answer is 1–4 and a Kykyviisari change -10..10.

:func:`sensitive` names the quantities of a withheld figure no one may work out; the audit
(:mod:`hub.indicators.audit`) checks them against the relations.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from hub.indicators.cells import (
    COUNT,
    MEAN,
    MOVED,
    OUTCOMES,
    PER_SESSION,
    RATE,
    REASONS,
    SESSIONS,
    SHARE,
    Cell,
    q,
)
from hub.model import SMALL_COUNT, Suppression

PRIMARY = frozenset({Suppression.SMALL_COUNT, Suppression.FEW_PEOPLE, Suppression.SMALL_PART})
#: quantities that are not additive across municipalities (a session is shared by them)
NOT_ADDITIVE = frozenset({"sessions"})
CONST = ""  # the constant term of a row
#: a Kykyviisari change is -10..10 (scores 0–10); a satisfaction answer 1–4, satisfied 3–4
KYKY_RANGE = 10

Row = dict[str, Fraction]
#: ``low <= sum(coefficient x quantity) <= high`` (None: no bound on that side)
Limit = tuple[Row, Fraction | None, Fraction | None]


def base_of(name: str) -> str:
    return name.rpartition("@")[0]


def is_count(name: str) -> bool:
    """Whether ``name`` counts something (people, sessions or days), not a sum of values."""
    return not base_of(name).endswith("_sum")


def counts_people(name: str) -> bool:
    base = base_of(name)
    return is_count(name) and base not in ("sessions", "attended_days", "planned_days")


def signed(name: str) -> bool:
    """A quantity that may be below 0: the sum of Kykyviisari changes."""
    base = base_of(name)
    return base.startswith("kyky_") and base.endswith("_sum")


def relations(municipalities: Iterable[str | None]) -> list[Row]:
    """Every linear relation (sum of coefficient x quantity = 0) of a family whose people
    are in ``municipalities`` (None: the whole model; :data:`UNKNOWN`: no municipality)."""
    rows: list[Row] = []
    places = sorted({m for m in municipalities if m is not None})
    for where in [None, *places]:
        rows.append({q("ended", where): 1, **{q(f"to_{o}", where): -1 for o in OUTCOMES}})
        rows.append({q("known", where): 1, q("ended", where): -1, q("to_unknown", where): 1})
        rows.append({q("moved", where): 1, **{q(f"to_{o}", where): -1 for o in MOVED}})
        rows.append({q("interrupted", where): 1, **{q(f"why_{r}", where): -1 for r in REASONS}})
    return [{k: Fraction(v) for k, v in row.items()} for row in rows]


def across(quantities: Iterable[str], municipalities: Iterable[str | None]) -> list[Row]:
    """The municipalities' quantities add up to the model's."""
    places = sorted({m for m in municipalities if m is not None})
    if not places:
        return []
    bases = sorted({name.rpartition("@")[0] for name in quantities} - NOT_ADDITIVE)
    return [
        {q(base, None): Fraction(1), **{q(base, m): Fraction(-1) for m in places}} for base in bases
    ]


def limits(quantities: Iterable[str]) -> list[Limit]:
    """The bounds between the ``quantities`` of a family, beyond each being >= 0."""
    names = set(quantities)
    out: list[Limit] = []

    def bound(terms: dict[str, int], low: int | None = None, high: int | None = None) -> None:
        if all(k in names for k in terms):
            row = {k: Fraction(v) for k, v in terms.items()}
            out.append(
                (
                    row,
                    None if low is None else Fraction(low),
                    None if high is None else Fraction(high),
                )
            )

    for where in sorted({n.rpartition("@")[2] for n in names}):
        at = f"@{where}"
        everyone = "participants" + at
        for name in sorted(names):
            if name.endswith(at) and counts_people(name) and name != everyone:
                bound({name: 1, everyone: -1}, high=0)
        bound({"interrupted" + at: 1, "ended" + at: -1}, high=0)
        bound({"satisfied" + at: 1, "feedback_n" + at: -1}, high=0)
        bound({"sessions" + at: 1, "attended_days" + at: -1}, high=0)
        bound({"attended_days" + at: 1, "planned_days" + at: -1}, high=0)
        for m in (3, 6):
            bound({f"fu{m}_moved{at}": 1, f"fu{m}_known{at}": -1}, high=0)
        n, sat, total = "feedback_n" + at, "satisfied" + at, "feedback_sum" + at
        bound({total: 1, n: -1, sat: -2}, low=0)  # n + 2 satisfied <= sum
        bound({total: 1, n: -2, sat: -2}, high=0)  # sum <= 2 n + 2 satisfied
        for name in sorted(names):
            if name.endswith(at) and signed(name):
                people = name.replace("_sum@", "_n@")
                bound({name: 1, people: KYKY_RANGE}, low=0)
                bound({name: 1, people: -KYKY_RANGE}, high=0)
    return out


def sensitive(cell: Cell) -> list[Row]:
    """The quantities of a withheld figure no one may work out."""
    if cell.suppression not in PRIMARY or not cell.people:
        return []
    names = list(cell.quantities)
    if cell.kind in (COUNT, SESSIONS):
        return [{names[0]: Fraction(1)}]
    if cell.kind == MEAN or (cell.kind == SHARE and cell.suppression == Suppression.FEW_PEOPLE):
        return [{names[0]: Fraction(1)}, {names[1]: Fraction(1)}]
    if cell.kind in (SHARE, RATE):  # the part, and the rest (whole minus part)
        whole, part = names if cell.kind == SHARE else reversed(names)
        return [{part: Fraction(1)}, {whole: Fraction(1), part: Fraction(-1)}]
    if cell.kind == PER_SESSION:  # the few sessions, or the days of the few attendees
        sessions, days = sorted(names, key=lambda n: not n.startswith("sessions@"))
        attendees = sum(1 for attended, _ in cell.people.values() if attended)
        forms = [{sessions: Fraction(1)}] if 0 < cell.quantities[sessions] < SMALL_COUNT else []
        return forms + ([{days: Fraction(1)}] if 0 < attendees < SMALL_COUNT else [])
    return []
