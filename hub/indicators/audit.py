"""The audit of one family's figures: can a reader work out what is withheld?

A reader holds the published figures — the audit assumes each gives away its quantities
exactly (:mod:`hub.indicators.cells`), which is more than a rounded figure does — and the
documented relations between them (:mod:`hub.indicators.relations`). It sees every withheld
figure under the same mark, so it cannot tell a small count from a secondary suppression:
to it a withheld count is a whole number >= 0, no more.

A *leak* is

- a withheld figure's sensitive quantity (a small count, the part or rest of a share, the
  absent days of an attendance rate, the people and sum of a mean) that the reader can pin
  to one value — whatever the value: a derived 0 % or 100 % is a fact about everyone;
- a count of 1–4 the reader can pin, whichever figure holds it;
- relations whose withheld counts, all of one sign, add up to 1–4: the withheld cells
  together hold a small group.

The audit is done twice: exactly (rational Gaussian elimination over the equalities: fast,
and it names the small groups), then with the bounds (integer solutions of equalities and
inequalities, solved by HiGHS through :func:`scipy.optimize.milp`): a value is pinned when
no integer solution gives it another. A solve that gives up counts as a leak — what cannot be shown
safe is not published. This is the audit of τ-ARGUS's protection intervals with a
protection interval of one unit: a withheld value must have at least two possible values.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from hub.indicators.cells import Cell
from hub.indicators.relations import (
    CONST,
    Limit,
    Row,
    counts_people,
    is_count,
    sensitive,
    signed,
)
from hub.model import SMALL_COUNT

#: a solve that takes longer counts as a leak (what cannot be shown safe is withheld)
SOLVE_SECONDS = 10.0


@dataclass(frozen=True)
class Leak:
    cell: Cell | None  # the withheld figure worked out, or None for a small group
    quantities: frozenset[str]  # known quantities whose withholding would stop it
    why: str


def audit(
    cells: list[Cell], rows: list[Row], bounds: list[Limit] = (), free: set | None = None
) -> list[Leak]:
    """Every leak of the family: what a reader of the published figures could work out.

    ``free`` holds the forms shown to have two values in an earlier audit of the same
    family with as much or more published (withholding more only widens what a reader
    must allow for, so they stay free); the audit adds those it shows."""
    values: dict[str, float] = {}
    known: dict[str, float] = {}
    for cell in cells:
        values.update(cell.quantities)
        if cell.published:
            known.update(cell.quantities)
    rows = [{k: v for k, v in row.items() if k in values} for row in rows]
    bounds = [b for b in bounds if all(k in values for k in b[0])]
    zeros = _zeros(rows, known)
    reduced = [_substitute(row, known | dict.fromkeys(zeros, 0)) for row in rows]
    echelon = _Echelon()
    for i, row in enumerate(reduced):
        echelon.add(row, i)
    # a zero any reader infers from a published zero total is known until that is withheld
    stoppable = {k for k in known if k not in zeros}
    known = {k: v for k, v in known.items() if k not in zeros} | dict.fromkeys(zeros, 0)

    def stoppers(form: Row, used: set[int]) -> frozenset[str]:
        """What, withheld, could stop ``form`` being worked out with the rows ``used``."""
        names = set(form).union(*(rows[i] for i in used))
        return frozenset(
            {n for n in names if n in stoppable} | {zeros[n] for n in names & zeros.keys()}
        )

    free = set() if free is None else free
    leaks: list[Leak] = []
    open_forms: list[tuple[Cell | None, Row]] = []
    for cell in cells:
        for form in sensitive(cell):
            if frozenset(form.items()) in free:
                continue
            rest = {k: v for k, v in _substitute(form, known).items() if k != CONST}
            left, used = echelon.reduce(rest)
            if not {k for k in left if k != CONST}:
                leaks.append(Leak(cell, stoppers(form, used), f"{cell.code} can be worked out"))
            else:
                open_forms.append((cell, form))
    for name, value in values.items():
        if 0 < value < SMALL_COUNT and name not in known and counts_people(name):
            if frozenset({(name, 1)}) not in free:
                open_forms.append((None, {name: Fraction(1)}))
    groups = [(row, {i}) for i, row in enumerate(reduced)] + list(echelon.rows.values())
    seen_groups: set[frozenset] = set()
    for row, used in groups:
        group = frozenset((k, abs(v)) for k, v in row.items())
        if _small_group(row) and group not in seen_groups:
            seen_groups.add(group)
            why = "withheld figures add up to fewer than 5 people"
            leaks.append(Leak(None, stoppers({}, used), why))
    if open_forms:
        touching = _relations_by_quantity([*rows, *(b[0] for b in bounds)])
        leaks += _bounded(values, known, rows, bounds, open_forms, touching, stoppable, free)
    return leaks


def _bounded(values, known, rows, bounds, forms, touching, stoppable, free) -> list[Leak]:
    """The ``forms`` a reader can pin with the bounds and whole numbers."""
    keys = [frozenset(form.items()) for _, form in forms]
    todo = [i for i, key in enumerate(keys) if key not in free]
    if not todo:
        return []
    found = Pinning(values, known, rows, bounds).pinned([forms[i][1] for i in todo])
    pinned = {todo[j]: why for j, why in found.items()}
    free |= {keys[i] for i in todo if i not in pinned}
    leaks, seen = [], set()
    for i, why in sorted(pinned.items()):
        cell, form = forms[i]
        if frozenset(form) in seen:
            continue
        seen.add(frozenset(form))
        what = cell.code if cell else f"{next(iter(form))} = {values[next(iter(form))]:g}"
        leaks.append(Leak(cell, _stoppers(form, touching, stoppable), f"{what} {why}"))
    return leaks


class Pinning:
    """The reader's integer program: the unknown quantities as whole numbers (>= 0 but for
    the sums of Kykyviisari changes), the equalities and the bounds, the known quantities
    put in. The true values are one solution; a form is pinned when no other solution
    gives it another value. Each solution found clears every form it moves."""

    def __init__(self, values, known, rows, bounds) -> None:
        self.values = values
        self.known = known
        self.names = sorted(n for n in values if n not in known)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.truth = np.array([_whole(n, values[n]) for n in self.names], dtype=float)
        self.low = np.array([-np.inf if signed(n) else 0.0 for n in self.names])
        matrix, lows, highs = [], [], []
        for row in rows:
            coeffs, constant = self._row(row)
            if coeffs.any():
                matrix.append(coeffs)
                lows.append(-constant)
                highs.append(-constant)
        for terms, low, high in bounds:
            coeffs, constant = self._row(terms)
            if coeffs.any():
                matrix.append(coeffs)
                lows.append(-np.inf if low is None else float(low) - constant)
                highs.append(np.inf if high is None else float(high) - constant)
        self.matrix = np.array(matrix).reshape(len(matrix), len(self.names))
        self.lows, self.highs = np.array(lows), np.array(highs)

    def _row(self, terms: dict) -> tuple[np.ndarray, float]:
        coeffs, constant = np.zeros(len(self.names)), 0.0
        for name, coeff in terms.items():
            if name in self.index:
                coeffs[self.index[name]] += float(coeff)
            else:
                constant += float(coeff) * _whole(name, self.known[name])
        return coeffs, constant

    def pinned(self, forms: list[Row]) -> dict[int, str]:
        """Index -> why, for each pinned form."""
        rows = [self._row(form)[0] for form in forms]
        truths = [float(r @ self.truth) for r in rows]
        open_ = {i for i, r in enumerate(rows) if r.any()}
        out = {i: "is published with it" for i in range(len(forms)) if i not in open_}
        while open_:
            i = min(open_)
            for side in (1.0, -1.0):  # another solution with the form at least 1 above, below
                status, x = self._solve(side * rows[i], side * truths[i] + 1)
                if status == "found":
                    open_ -= {j for j in open_ if abs(rows[j] @ x - truths[j]) > 0.5}
                    break
                if status == "unsure":
                    out[i] = "cannot be shown safe"
                    break
            else:
                out[i] = "can be pinned with the bounds"
            open_.discard(i)
        return out

    def _solve(self, form: np.ndarray, least: float) -> tuple[str, np.ndarray | None]:
        """An integer solution with ``form`` @ x >= ``least``."""
        matrix = np.vstack([self.matrix, form])
        constraints = LinearConstraint(
            matrix, np.append(self.lows, least), np.append(self.highs, np.inf)
        )
        result = milp(
            np.zeros(len(self.names)),
            constraints=constraints,
            integrality=np.ones(len(self.names)),
            bounds=Bounds(self.low, np.inf),
            options={"time_limit": SOLVE_SECONDS, "presolve": True},
        )
        if result.status == 0 and result.x is not None:
            return "found", np.round(result.x)
        return ("none", None) if result.status == 2 else ("unsure", None)


def _whole(name: str, value: float) -> int:
    whole = round(value)
    if whole != value:
        raise ValueError(f"{name}: {value} is not a whole number")
    return whole


class _Echelon:
    """Rows reduced to echelon form over the rationals, one pivot per row, each with the
    indices of the relations it was made of."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Row, set[int]]] = {}  # pivot -> (row, sources)

    def reduce(self, row: Row, used: set[int] | None = None) -> tuple[Row, set[int]]:
        row, used = dict(row), set(used or ())
        for pivot, (prow, sources) in self.rows.items():
            factor = row.get(pivot)
            if factor:
                _subtract(row, prow, factor)
                used |= sources
        return row, used

    def add(self, row: Row, index: int) -> None:
        row, used = self.reduce(row, {index})
        pivot = min((k for k in row if k != CONST), default=None)
        if pivot is None:
            return
        scale = row[pivot]
        row = {k: v / scale for k, v in row.items()}
        for orow, sources in self.rows.values():
            if orow.get(pivot):
                _subtract(orow, row, orow[pivot])
                sources |= used
        self.rows[pivot] = (row, used)


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


def _small_group(row: Row) -> bool:
    """The unknown counts of ``row`` have one sign and add up to 1–4."""
    terms = {k: v for k, v in row.items() if k != CONST}
    if not terms or not all(is_count(k) for k in terms):
        return False
    signs = {v > 0 for v in terms.values()}
    if len(signs) != 1 or any(abs(v) != 1 for v in terms.values()):
        return False
    total = abs(row.get(CONST, Fraction(0)))
    return 0 < total < SMALL_COUNT


def _zeros(rows: list[Row], known: dict[str, float]) -> dict[str, str]:
    """The counts a reader knows to be 0 without their being published: the parts of a
    total published as 0 (counts are never negative), and so on down; each with the
    published total it follows from."""
    zeros: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for row in rows:
            if not all(is_count(k) for k in row):
                continue
            totals = [k for k, v in row.items() if v > 0]
            parts = [k for k, v in row.items() if v < 0]
            if len(totals) != 1 or not (known.get(totals[0]) == 0 or totals[0] in zeros):
                continue
            root = zeros.get(totals[0], totals[0])
            for part in parts:
                if part not in zeros and known.get(part) != 0:
                    zeros[part] = root
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
