"""An attacker who knows only what Innokylä received, and what it recovers.

The attacker holds every version of every figure Innokylä ever published (all models,
periods, municipalities and revisions, :mod:`support.releases`) and the documented relations
between figures (:mod:`support.relations`). Four attacks, each returning the individual-level
facts it recovered (:class:`Finding`) — a count of 1–4 people, a share of 0 % or 100 % of a
group (a fact about every member), 1–4 absent or attended days, 1–4 sessions:

1. :func:`differencing` — between releases of a family, every quantity the figures determine
   (published counts, counts worked out from shares and their wholes, the people a mean rests
   on, worked out from how its value is rounded) that changed by 1–4 people: the people who
   came or went, and for a mean the sum of their values;
2. :func:`complements` — within each release, the relations solved for what is withheld,
   exactly (rational Gaussian elimination over the counts) and with bounds (withheld cells
   >= 0, "<5" 1..4, rounded figures as intervals, integer solutions searched for);
3. :func:`share_arithmetic` — a share times its whole (published or worked out) gives its
   part and rest; an attendance rate with the mean per session and the sessions gives the
   absent days; 0 % and 100 % are facts about everyone;
4. :func:`overlapping_groups` — the model's figure minus its municipalities' is the people of
   no published municipality, in each release and between releases.

:func:`attack` runs them all. A search that gives up is counted (:attr:`Knowledge.undecided`)
so a test can insist that the attacker never did.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from support import relations as r
from support.releases import CONFIDENTIAL, SMALL, Family, Snapshot, snapshots, versions
from support.solver import Infeasible, System

DAYS = frozenset({"attended", "absent"})
#: a published figure is rounded to one decimal
HALF = Fraction(1, 20)


@dataclass(frozen=True)
class Finding:
    """An individual-level fact the attacker recovered."""

    attack: str
    where: str  # the family and release(s)
    fact: str

    def __str__(self) -> str:
        return f"[{self.attack}] {self.where}: {self.fact}"


def small(value: int) -> bool:
    return 1 <= value <= 4


class Analysis:
    """One snapshot as a system of relations, solved once, its determined values cached."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.counts = r.system(snapshot, rounded=False)
        self.contradiction: str | None = None
        try:
            self.exact = {k: v for k, v in self.counts.exact().items()}
        except Infeasible as exc:
            self.exact, self.contradiction = {}, str(exc)
        self.full = r.system(snapshot, same_scales=True)
        self.solution = self.full.solve()
        if self.solution is None:  # the scales do not rest on the same people after all
            self.full = r.system(snapshot)
            self.solution = self.full.solve()
        if self.solution is None and self.contradiction is None and not self.full.undecided:
            self.contradiction = "no integer solution of the relations"
        self._fixed: dict[str, bool] = {}

    def value(self, name: str) -> int | None:
        """``name``'s value if the figures determine it (exactly or within bounds)."""
        if self.solution is None:
            return None
        value = self.solution[name]
        if name not in self._fixed:
            self._fixed[name] = self.full.fixed(name, value)
        return value if self._fixed[name] else None

    @property
    def undecided(self) -> int:
        return self.counts.undecided + self.full.undecided


class Knowledge:
    """Everything Innokylä received, as snapshots per family, each analysed once."""

    def __init__(self, listed: Iterable[dict]):
        self.versions = versions(listed)
        self.families: dict[Family, list[Snapshot]] = snapshots(self.versions)
        self._analyses: dict[int, Analysis] = {}

    def analysis(self, snapshot: Snapshot) -> Analysis:
        key = id(snapshot)
        if key not in self._analyses:
            self._analyses[key] = Analysis(snapshot)
        return self._analyses[key]

    @property
    def undecided(self) -> int:
        return sum(a.undecided for a in self._analyses.values())

    def contradictions(self) -> list[Finding]:
        """Snapshots whose figures break the documented relations (the attacker's model, or
        the publication, is wrong: either way the test should know)."""
        out = []
        for snaps in self.families.values():
            for snap in snaps:
                if (problem := self.analysis(snap).contradiction) is not None:
                    out.append(Finding("contradiction", snap.name(), problem))
        return out


# --- 1. differencing between releases ----------------------------------------------------
def differencing(k: Knowledge) -> list[Finding]:
    """Quantities determined in two releases of a family that differ by 1–4 people."""
    found = []
    for snaps in k.families.values():
        for first, second in itertools.combinations(snaps, 2):
            a, b = k.analysis(first), k.analysis(second)
            if a.solution is None or b.solution is None:
                continue
            for name in sorted(a.solution):
                if r.base_of(name) not in r.PEOPLE:
                    continue
                if not small(abs(b.solution[name] - a.solution[name])):
                    continue
                before, after = a.value(name), b.value(name)
                if before is None or after is None or not small(abs(after - before)):
                    continue
                fact = f"{name} went from {before} to {after}"
                fact += _mean_difference(name, a, b)
                where = f"{first.name()} -> {second.released:%Y-%m-%d %H:%M:%S.%f}"
                found.append(Finding("differencing", where, fact))
    return found


def _mean_difference(name: str, a: Analysis, b: Analysis) -> str:
    base = r.base_of(name)
    if not base.endswith("_n"):
        return ""
    total = f"{base[:-2]}_sum@{r.where_of(name)}"
    before, after = a.value(total), b.value(total)
    if before is None or after is None:
        return ""
    return f"; the values of those who came or went add up to {after - before}"


# --- 2. complements within a release -----------------------------------------------------
def complements(k: Knowledge) -> list[Finding]:
    """Withheld figures worked out from the published ones, exactly and with bounds."""
    found = []
    for snaps in k.families.values():
        for snap in snaps:
            a = k.analysis(snap)
            for name, value in sorted(a.exact.items()):
                if _counted(name) and value.denominator == 1 and small(int(value)):
                    if not _published(snap, name):
                        found.append(
                            Finding("complements (exact)", snap.name(), f"{name} = {value}")
                        )
            found += [Finding("complements (bounds)", snap.name(), f) for f in _bounded(a)]
    return found


def _counted(name: str) -> bool:
    base = r.base_of(name)
    return base in r.PEOPLE or base == "sessions" or base in DAYS


def _published(snap: Snapshot, name: str) -> bool:
    """Whether ``name`` is a published count (then it is no complement)."""
    base, where = r.base_of(name), r.where_of(name)
    muni = None if where == "*" else where
    for (code, category, m), value in snap.cells.items():
        if m == muni and code in r.COUNTS and r.COUNTS[code](category) == base:
            return value not in (SMALL, CONFIDENTIAL)
    return False


def _bounded(a: Analysis) -> list[str]:
    if a.solution is None:
        return []
    facts = []
    for name, value in sorted(a.solution.items()):
        if _counted(name) and small(value) and a.value(name) is not None:
            facts.append(f"{name} = {value}")
    for where in r.groups(a.snapshot):
        for whole, part in r.PARTS:
            w, p = r.q(whole, where), r.q(part, where)
            if w not in a.solution or a.solution[w] < 1:
                continue
            if a.solution[p] in (0, a.solution[w]) and a.value(w) and a.value(p) is not None:
                facts.append(f"{p} = {a.solution[p]} of {w} = {a.solution[w]}")
    return facts


# --- 3. share arithmetic -----------------------------------------------------------------
def share_arithmetic(k: Knowledge) -> list[Finding]:
    """A share times its whole, a rate times the days: parts and rests of 0–4."""
    found = []
    for snaps in k.families.values():
        for snap in snaps:
            a = k.analysis(snap)
            known = {n: int(v) for n, v in a.exact.items() if v.denominator == 1}
            for (code, _, muni), value in snap.cells.items():
                if value in (SMALL, CONFIDENTIAL):
                    continue
                where = muni or "*"
                fact = None
                if code in r.SHARES or code == "attendance_rate":
                    if Fraction(value) in (0, 100):
                        fact = f"{code}@{where} = {value} %: a fact about every member"
                if fact is None and code in r.SHARES:
                    fact = _share_part(code, where, Fraction(value), known)
                if fact is None and code == "attendance_rate":
                    fact = _absent_days(snap, where, Fraction(value), known)
                if fact:
                    found.append(Finding("share arithmetic", snap.name(), fact))
    return found


def _share_part(code: str, where: str, share: Fraction, known: dict[str, int]) -> str | None:
    whole_name, _ = r.SHARES[code]
    whole = known.get(r.q(whole_name, where))
    if not whole:
        return None
    parts = _integers(whole * (share - HALF) / 100, whole * (share + HALF) / 100)
    if len(parts) != 1:
        return None
    part = parts[0]
    if part <= 4 or whole - part <= 4:
        return f"{code}@{where} = {float(share)} % of {whole}: part {part}, rest {whole - part}"
    return None


def _absent_days(snap: Snapshot, where: str, rate: Fraction, known) -> str | None:
    """Attended days = mean per session x sessions; planned = attended / rate."""
    muni = None if where == "*" else where
    mean = snap.cells.get(("mean_participants_per_session", None, muni))
    sessions = known.get(r.q("sessions", where))
    if mean in (None, SMALL, CONFIDENTIAL) or not sessions or rate <= HALF:
        return None
    mean = Fraction(mean)
    absent = set()
    for days in _integers(sessions * (mean - HALF), sessions * (mean + HALF)):
        if days > 0:
            planned = _integers(100 * days / (rate + HALF), 100 * days / (rate - HALF))
            absent |= {p - days for p in planned if p >= days}
    if len(absent) == 1 and small(days := next(iter(absent))):
        return f"attendance_rate@{where} = {float(rate)} % with the sessions: {days} absent days"
    return None


def _integers(low: Fraction, high: Fraction) -> list[int]:
    return list(range(max(0, math.ceil(low)), math.floor(high) + 1))


# --- 4. overlapping groups ---------------------------------------------------------------
def overlapping_groups(k: Knowledge) -> list[Finding]:
    """The model's count minus its municipalities': people of no published municipality,
    in each release and as a change between releases."""
    found = []
    for snaps in k.families.values():
        rests = []
        for snap in snaps:
            a = k.analysis(snap)
            rests.append(_rests(snap, a.exact))
        for i, (snap, rest) in enumerate(zip(snaps, rests, strict=True)):
            for base, value in sorted(rest.items()):
                if small(value):
                    fact = f"{base}: {value} people outside the published municipalities"
                    found.append(Finding("overlapping groups", snap.name(), fact))
                for later, later_rest in zip(snaps[i + 1 :], rests[i + 1 :], strict=True):
                    if base in later_rest and small(abs(later_rest[base] - value)):
                        after = later_rest[base]
                        fact = f"{base} outside the municipalities went {value} -> {after}"
                        where = f"{snap.name()} -> {later.released:%Y-%m-%d %H:%M:%S.%f}"
                        found.append(Finding("overlapping groups", where, fact))
    return found


def _rests(snap: Snapshot, exact: dict[str, Fraction]) -> dict[str, int]:
    places = snap.municipalities
    if not places:
        return {}
    out = {}
    for base in r.PEOPLE:
        names = [r.q(base, "*"), *(r.q(base, m) for m in places)]
        if all(n in exact for n in names):
            total, *parts = (exact[n] for n in names)
            out[base] = int(total - sum(parts))
    return out


ATTACKS = (differencing, complements, share_arithmetic, overlapping_groups)


def attack(listed: Iterable[dict]) -> tuple[list[Finding], Knowledge]:
    """Every attack on the versions ``listed``; the findings (contradictions first)."""
    k = Knowledge(listed)
    findings = k.contradictions()
    for run in ATTACKS:
        findings += run(k)
    return findings, k


__all__ = ["ATTACKS", "Finding", "Knowledge", "System", "attack"]
