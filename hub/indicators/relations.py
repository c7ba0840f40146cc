"""The exact audit of one family's figures: can a withheld figure be worked out from the
published ones?

Published figures give away quantities (:mod:`hub.indicators.cells`) that obey linear
relations: the municipalities' quantities add up to the model's, the transitions add up to
the people who ended, the moved-on ones to the transitions of the moved-on kinds, the
interruptions by reason to the interrupted. The audit writes every relation with the given-
away quantities as known numbers and solves for the rest exactly (rational Gaussian
elimination). A *leak* is

- a withheld figure's sensitive quantity (a small count, the part or rest of a share, the
  absent days of an attendance rate, the people and sum of a mean) that the relations
  determine — whatever its value: a derived 0 % or 100 % is a fact about everyone; or
- a relation, or a combination of them, whose unknown counts all have one sign and add up
  to 1–4: the withheld cells together hold a small group.

:func:`audit` returns the leaks with the quantities that would stop each; the control
withholds published figures that give those away until no leak is left.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

Row = dict[str, Fraction]


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


@dataclass(frozen=True)
class Leak:
    cell: Cell | None  # the withheld figure worked out, or None for a small group
    quantities: frozenset[str]  # known quantities whose withholding would stop it
    why: str


class _Echelon:
    """Rows reduced to echelon form over the rationals, one pivot per row."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}  # pivot -> row (pivot coefficient 1)

    def reduce(self, row: Row) -> Row:
        row = dict(row)
        for pivot, prow in self.rows.items():
            _subtract(row, prow, row.get(pivot))
        return row

    def add(self, row: Row) -> None:
        row = self.reduce(row)
        pivot = min((k for k in row if k != CONST), default=None)
        if pivot is None:
            return
        scale = row[pivot]
        row = {k: v / scale for k, v in row.items()}
        for orow in self.rows.values():
            _subtract(orow, row, orow.get(pivot))
        self.rows[pivot] = row


def _subtract(target: Row, row: Row, factor: Fraction | None) -> None:
    """``target`` -= ``factor`` x ``row``, in place, dropping the terms that become 0."""
    if not factor:
        return
    for k, v in row.items():
        value = target.get(k, 0) - factor * v
        if value:
            target[k] = value
        else:
            target.pop(k, None)


def _substitute(row: Row, known: dict[str, float]) -> Row:
    out: Row = {}
    constant = Fraction(0)
    for name, coeff in row.items():
        if name in known:
            constant += coeff * Fraction(known[name]).limit_denominator(10**6)
        else:
            out[name] = coeff
    if constant:
        out[CONST] = constant
    return out


def _is_count(name: str) -> bool:
    return not name.rpartition("@")[0].endswith("_sum")


def _small_group(row: Row) -> bool:
    """The unknown counts of ``row`` have one sign and add up to 1–4."""
    terms = {k: v for k, v in row.items() if k != CONST}
    if not terms or not all(_is_count(k) for k in terms):
        return False
    signs = {v > 0 for v in terms.values()}
    if len(signs) != 1 or any(abs(v) != 1 for v in terms.values()):
        return False
    total = abs(row.get(CONST, Fraction(0)))
    return 0 < total < SMALL_COUNT


def audit(cells: list[Cell], rows: list[Row]) -> list[Leak]:
    """Every leak of the family: what a reader of the published figures could work out."""
    values: dict[str, float] = {}
    known: dict[str, float] = {}
    for cell in cells:
        values.update(cell.quantities)
        if cell.published:
            known.update(cell.quantities)
    rows = [{k: v for k, v in row.items() if k in values} for row in rows]
    zeros = _zeros(rows, known)
    reduced = [_substitute(row, known | dict.fromkeys(zeros, 0)) for row in rows]
    echelon = _Echelon()
    for row in reduced:
        echelon.add(row)
    touching = _relations_by_quantity(rows)
    # a zero any reader infers from a published zero total is known whoever withholds it
    known = {k: v for k, v in known.items() if k not in zeros} | dict.fromkeys(zeros, 0)
    stoppable = {k: v for k, v in known.items() if k not in zeros}
    leaks: list[Leak] = []
    for cell in cells:
        for form in sensitive(cell):
            rest = {k: v for k, v in _substitute(form, known).items() if k != CONST}
            if not rest or not {k: v for k, v in echelon.reduce(rest).items() if k != CONST}:
                stop = _stoppers(form, touching, stoppable)
                leaks.append(Leak(cell, stop, f"{cell.code} can be worked out"))
    for row in [*reduced, *echelon.rows.values()]:
        if _small_group(row):
            unknown = {k for k in row if k != CONST}
            stop = frozenset().union(*(_stoppers({k: 1}, touching, stoppable) for k in unknown))
            leaks.append(Leak(None, stop, "withheld figures add up to fewer than 5 people"))
    return leaks


def _zeros(rows: list[Row], known: dict[str, float]) -> set[str]:
    """The counts a reader knows to be 0 without their being published: the parts of a
    total published as 0 (counts are never negative), and so on down."""
    zeros: set[str] = set()
    changed = True
    while changed:
        changed = False
        for row in rows:
            if not all(_is_count(k) for k in row):
                continue
            totals = [k for k, v in row.items() if v > 0]
            parts = [k for k, v in row.items() if v < 0]
            if len(totals) != 1 or not (known.get(totals[0]) == 0 or totals[0] in zeros):
                continue
            for part in parts:
                if part not in zeros and known.get(part) != 0:
                    zeros.add(part)
                    changed = True
    return zeros


def _relations_by_quantity(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        for name in row:
            out.setdefault(name, []).append(row)
    return out


def _stoppers(form: dict, touching: dict[str, list[Row]], known: dict) -> frozenset[str]:
    """The known quantities that, withheld, could stop ``form`` being worked out: its own,
    and those of every relation reached from it through quantities not known."""
    seen, todo, found = set(form), list(form), set()
    while todo:
        name = todo.pop()
        if name in known:
            found.add(name)
        for row in touching.get(name, ()):
            for other in row:
                if other not in seen:
                    seen.add(other)
                    if other in known:
                        found.add(other)
                    else:
                        todo.append(other)
    return frozenset(found)
