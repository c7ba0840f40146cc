"""The attacker's algebra: linear relations over integer unknowns, solved two ways.

Written apart from the hub's audit (:mod:`hub.indicators.audit`, which asks HiGHS), so that
the attacker test checks the audit with a solver of its own.

- **Exactly** (:meth:`System.exact`): the equalities are reduced to echelon form over the
  rationals (Gaussian elimination with :class:`~fractions.Fraction`); an unknown is
  determined when its row holds no other unknown.
- **With bounds** (:meth:`System.solve`, :meth:`System.fixed`): every unknown is an
  integer in an interval, the relations may be inequalities (a rounded share or mean is an
  interval, a count is >= 0, a part at most its whole). Bounds are propagated to a
  fixpoint, then a depth-first search that splits domains in halves (and solves parts that
  no longer share an open unknown one by one) finds an integer solution, or proves there is
  none. An unknown is determined when no solution gives it another value than a first
  solution does.

A search that exceeds its node budget, twice (the second time with twenty times the
nodes), is *undecided*: :attr:`System.undecided` counts them,
so a test can insist that the attacker never gave up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

#: an unknown no relation bounds lies within this
BIG = 10**9
NODES = 20_000
#: a search out of nodes is tried once more with this many times the budget
ESCALATE = 20
PROPAGATIONS = 50_000

Domains = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Constraint:
    """``low <= sum(coeff * unknown) <= high`` with integer coefficients and bounds."""

    coeffs: tuple[tuple[str, int], ...]
    low: int
    high: int


def constraint(terms: dict[str, Fraction | int], low: Fraction | None, high: Fraction | None):
    """A constraint scaled to integers (``None``: no bound on that side)."""
    terms = {k: Fraction(v) for k, v in terms.items() if v}
    scale = math.lcm(
        *(t.denominator for t in terms.values()),
        *(b.denominator for b in (low, high) if b is not None),
    )
    coeffs = tuple(sorted((k, int(v * scale)) for k, v in terms.items()))
    lo = -BIG * BIG if low is None else math.ceil(Fraction(low) * scale)
    hi = BIG * BIG if high is None else math.floor(Fraction(high) * scale)
    return Constraint(coeffs, lo, hi)


class Infeasible(Exception):
    """No integer solution: the published figures contradict the relations."""


@dataclass
class System:
    """Integer unknowns with bounds, and linear constraints between them."""

    domains: Domains = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    #: searches that gave up (over :data:`NODES` nodes)
    undecided: int = 0
    _base: Domains | None = field(default=None, repr=False)
    _parts: dict[str, _Part] = field(default_factory=dict, repr=False)

    def unknown(self, name: str, low: int = 0, high: int = BIG) -> None:
        self._base = None
        lo, hi = self.domains.get(name, (-BIG, BIG))
        self.domains[name] = (max(lo, low), min(hi, high))

    def add(self, terms: dict, low=None, high=None) -> None:
        self._base = None
        for name in terms:
            self.domains.setdefault(name, (0, BIG))
        self.constraints.append(constraint(terms, low, high))

    def equal(self, terms: dict, value: Fraction | int = 0) -> None:
        self.add(terms, Fraction(value), Fraction(value))

    # --- exactly ------------------------------------------------------------------------
    def exact(self) -> dict[str, Fraction]:
        """The unknowns the equalities alone determine (rational Gaussian elimination)."""
        rows = [
            ({k: Fraction(v) for k, v in c.coeffs}, Fraction(c.low))
            for c in self.constraints
            if c.low == c.high
        ]
        pivots: dict[str, tuple[dict[str, Fraction], Fraction]] = {}
        for terms, rhs in rows:
            terms, rhs = _reduce(terms, rhs, pivots)
            if not terms:
                if rhs:
                    raise Infeasible("the equalities contradict each other")
                continue
            pivot = min(terms)
            scale = terms[pivot]
            terms = {k: v / scale for k, v in terms.items()}
            rhs = rhs / scale
            for name, (other, orhs) in list(pivots.items()):
                factor = other.get(pivot)
                if factor:
                    pivots[name] = _combine(other, orhs, terms, rhs, factor)
            pivots[pivot] = (terms, rhs)
        return {p: rhs for p, (terms, rhs) in pivots.items() if len(terms) == 1}

    # --- with bounds --------------------------------------------------------------------
    def base(self) -> Domains | None:
        """The unknowns' domains narrowed by every constraint; None when that shows there
        is no solution."""
        if self._base is None:
            try:
                self._base = _propagate(self.constraints, _watch(self.constraints), self.domains)
            except Infeasible:
                self._base = {}
            self._parts = _components(self.constraints, self._base) if self._base else {}
        return self._base or None

    def solve(self) -> dict[str, int] | None:
        """An integer solution, or None when there is none; None too, counted in
        :attr:`undecided`, when the search gives up."""
        base = self.base()
        if base is None:
            return None
        solution = {name: lo for name, (lo, _) in base.items()}
        for part in {id(p): p for p in self._parts.values()}.values():
            found = self._search(part, {})
            if found is None:
                return None
            solution.update(found)
        return solution

    def fixed(self, name: str, value: int) -> bool:
        """Whether ``name`` is ``value`` in every integer solution (given that one solution
        has it): no solution below it, none above. Undecided searches count as not fixed."""
        base = self.base()
        if base is None or name not in self._parts:
            return base is not None and base[name] == (value, value)
        lo, hi = base[name]
        for bounds in ((lo, value - 1), (value + 1, hi)):
            if bounds[0] <= bounds[1] and self._search(self._parts[name], {name: bounds}):
                return False
        return True

    def _search(self, part: _Part, narrowed: Domains) -> dict[str, int] | None:
        """A solution of ``part`` within ``narrowed``; a search that runs out of nodes is
        tried again with :data:`ESCALATE` times as many before it counts as undecided."""
        domains = {n: self._base[n] for n in part.names} | narrowed
        for budget in (NODES, NODES * ESCALATE):
            try:
                return _search(part, domains, list(narrowed), [budget])
            except _Budget:
                continue
        self.undecided += 1
        return None


@dataclass
class _Part:
    """A connected part of a system: unknowns not yet fixed and the constraints on them."""

    names: set[str]
    constraints: list[Constraint]
    watching: dict[str, list[Constraint]]


def _watch(constraints: list[Constraint]) -> dict[str, list[Constraint]]:
    watching: dict[str, list[Constraint]] = {}
    for c in constraints:
        for name, _ in c.coeffs:
            watching.setdefault(name, []).append(c)
    return watching


def _components(constraints: list[Constraint], base: Domains) -> dict[str, _Part]:
    """Each unknown not fixed by ``base`` -> the part of the system it belongs to."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    loose = [c for c in constraints if any(base[n][0] < base[n][1] for n, _ in c.coeffs)]
    for c in loose:
        names = [n for n, _ in c.coeffs]
        for other in names[1:]:
            parent[find(other)] = find(names[0])
    groups: dict[str, list[Constraint]] = {}
    for c in loose:
        groups.setdefault(find(c.coeffs[0][0]), []).append(c)
    parts = {}
    for cs in groups.values():
        part = _Part({n for c in cs for n, _ in c.coeffs}, cs, _watch(cs))
        for name in part.names:
            if base[name][0] < base[name][1]:
                parts[name] = part
    return parts


def _propagate(constraints, watching, domains: Domains, changed: list[str] | None = None):
    """``domains`` narrowed by the constraints (those on ``changed`` unknowns, or all) to a
    fixpoint or the budget; raises :class:`Infeasible` when an unknown has no value left."""
    domains = dict(domains)
    if changed is None:
        queue = list(constraints)
    else:
        queue = list({id(c): c for n in changed for c in watching.get(n, ())}.values())
    queued = {id(c) for c in queue}
    steps = 0
    while queue and steps < PROPAGATIONS:
        steps += 1
        c = queue.pop()
        queued.discard(id(c))
        for name in _narrow(c, domains):
            for other in watching[name]:
                if id(other) not in queued:
                    queued.add(id(other))
                    queue.append(other)
    return domains


class _Budget(Exception):
    """The search went over its node budget."""


def _search(part: _Part, domains: Domains, changed: list[str], budget: list[int]):
    """An integer solution of ``part`` within ``domains``, which are at a fixpoint but for
    the ``changed`` unknowns; None when there is none. Parts that no longer share an open
    unknown are solved one by one (an infeasible one is not searched again for every value
    of the others)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Budget
    try:
        domains = _propagate(part.constraints, part.watching, domains, changed)
    except Infeasible:
        return None
    open_ = {name for name, (lo, hi) in domains.items() if lo < hi}
    if not open_:
        if all(_holds(c, domains) for c in part.constraints):
            return {name: lo for name, (lo, _) in domains.items()}
        return None
    pieces = {id(p): p for p in _components(part.constraints, domains).values()}
    if len(pieces) > 1:
        solution = {name: lo for name, (lo, _) in domains.items()}
        for piece in pieces.values():
            found = _search(piece, {n: domains[n] for n in piece.names}, [], budget)
            if found is None:
                return None
            solution.update(found)
        return solution
    _, name = min((domains[n][1] - domains[n][0], n) for n in open_)
    lo, hi = domains[name]
    mid = lo + (hi - lo) // 2
    for half in ((lo, mid), (mid + 1, hi)):
        found = _search(part, {**domains, name: half}, [name], budget)
        if found is not None:
            return found
    return None


def _holds(c: Constraint, domains: Domains) -> bool:
    total = sum(a * domains[name][0] for name, a in c.coeffs)
    return c.low <= total <= c.high


def _narrow(c: Constraint, domains: Domains) -> list[str]:
    """Narrow the domains of ``c``'s unknowns; the names narrowed."""
    mins = [a * (domains[n][0] if a > 0 else domains[n][1]) for n, a in c.coeffs]
    maxs = [a * (domains[n][1] if a > 0 else domains[n][0]) for n, a in c.coeffs]
    low_sum, high_sum = sum(mins), sum(maxs)
    if low_sum > c.high or high_sum < c.low:
        raise Infeasible("a constraint cannot hold")
    changed = []
    for (name, a), mn, mx in zip(c.coeffs, mins, maxs, strict=True):
        rest_low, rest_high = low_sum - mn, high_sum - mx
        top, bottom = c.high - rest_low, c.low - rest_high  # bottom <= a*x <= top
        lo, hi = domains[name]
        if a > 0:  # bottom / a <= x <= top / a
            new = (max(lo, -(-bottom // a)), min(hi, top // a))
        else:  # top / a <= x <= bottom / a
            new = (max(lo, -(-top // a)), min(hi, bottom // a))
        if new != (lo, hi):
            if new[0] > new[1]:
                raise Infeasible(f"{name} has no value left")
            domains[name] = new
            changed.append(name)
    return changed


def _reduce(terms, rhs, pivots):
    terms = dict(terms)
    for pivot, (prow, prhs) in pivots.items():
        factor = terms.get(pivot)
        if factor:
            terms, rhs = _combine(terms, rhs, prow, prhs, factor)
    return terms, rhs


def _combine(terms, rhs, other, orhs, factor):
    """``terms - factor * other`` (and the right-hand sides alike)."""
    out = dict(terms)
    for k, v in other.items():
        value = out.get(k, 0) - factor * v
        if value:
            out[k] = value
        else:
            out.pop(k, None)
    return out, rhs - factor * orhs
