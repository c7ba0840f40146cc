"""The audit's integer program (HiGHS) against brute force: a withheld value is pinned
exactly when every whole-number solution of the relations and bounds gives it the same
value — checked on small generated systems by enumerating every solution."""

from __future__ import annotations

import itertools
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.indicators.audit import Pinning, audit
from hub.indicators.cells import COUNT, Cell
from hub.model import IndicatorCode, Suppression

CAP = 3  # every unknown is 0..CAP in the generated systems


@st.composite
def systems(draw):
    n = draw(st.integers(2, 4))
    truth = draw(st.lists(st.integers(0, CAP), min_size=n, max_size=n))
    unknowns = [f"u{i}@*" for i in range(n)]
    totals = draw(
        st.lists(
            st.lists(st.sampled_from([-1, 0, 0, 1]), min_size=n, max_size=n),
            min_size=1,
            max_size=3,
        )
    )
    rows, values = [], dict(zip(unknowns, truth, strict=True))
    for j, coeffs in enumerate(totals):
        name = f"t{j}@*"
        values[name] = sum(c * v for c, v in zip(coeffs, truth, strict=True))
        rows.append(
            {
                name: Fraction(1),
                **{u: Fraction(-c) for u, c in zip(unknowns, coeffs, strict=True) if c},
            }
        )
    inequality = draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n))
    return unknowns, values, rows, totals, inequality


@settings(max_examples=150, deadline=None)
@given(systems())
def test_pinned_means_every_whole_number_solution_agrees(system):
    unknowns, values, rows, totals, inequality = system
    known = {k: v for k, v in values.items() if k.startswith("t")}
    truth = [values[u] for u in unknowns]
    slack = sum(c * v for c, v in zip(inequality, truth, strict=True))
    bounds = [({u: Fraction(1)}, None, Fraction(CAP)) for u in unknowns]
    # one inequality the truth meets with no room to spare on one side
    bounds.append(
        (
            {u: Fraction(c) for u, c in zip(unknowns, inequality, strict=True) if c},
            None,
            Fraction(slack),
        )
    )
    bounds = [b for b in bounds if b[0]]
    solutions = [
        xs
        for xs in itertools.product(range(CAP + 1), repeat=len(unknowns))
        if all(
            sum(c * x for c, x in zip(coeffs, xs, strict=True)) == values[f"t{j}@*"]
            for j, coeffs in enumerate(totals)
        )
        and sum(c * x for c, x in zip(inequality, xs, strict=True)) <= slack
    ]
    assert tuple(truth) in solutions
    forms = [{u: Fraction(1)} for u in unknowns] + [
        {unknowns[0]: Fraction(1), unknowns[1]: Fraction(-1)}
    ]
    got = Pinning(values, known, rows, bounds).pinned(forms)
    for i, form in enumerate(forms):
        seen = {sum(int(c) * xs[unknowns.index(u)] for u, c in form.items()) for xs in solutions}
        assert (i in got) == (len(seen) == 1), (form, seen, got.get(i))


def count(name: str, value: int, suppression=None) -> Cell:
    members = {f"{name}/{i}": 1 for i in range(value)}
    category = name.partition("@")[0].removeprefix("to_")
    code = IndicatorCode.ENDED if name.startswith("ended") else IndicatorCode.TRANSITIONS
    cell = Cell(code, category, None, COUNT, members, float(value), {name: value})
    cell.suppression = suppression
    return cell


def test_withheld_parts_of_a_published_total_that_add_up_to_one_person_are_a_leak():
    cells = [
        count("ended@*", 6),
        count("to_employment@*", 5),
        count("to_education@*", 1, Suppression.SMALL_COUNT),
        count("to_no_change@*", 0, Suppression.SECONDARY),
    ]
    row = {"ended@*": Fraction(1), **{next(iter(c.quantities)): Fraction(-1) for c in cells[1:]}}
    leaks = audit(cells, [row])
    # education is 0 or 1 (no change takes the rest): not pinned alone, but the two withheld
    # cells hold a group of one; withholding the total or the employment count stops it
    assert [leak.why for leak in leaks] == ["withheld figures add up to fewer than 5 people"]
    assert leaks[0].quantities == {"ended@*", "to_employment@*"}
    cells[1].suppression = Suppression.SECONDARY
    assert audit(cells, [row]) == []
