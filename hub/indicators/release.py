"""Releases: which figures go out, and when a released family may be revised.

A *family* is one practice model's figures for one period (the follow-up shares are a
family of their own, final six months later). A family is released whole, once its period
is final (:mod:`hub.indicators.periods`). Later records may change it; the revision is
released only when, against *every* earlier release of the family, each figure's change
rests on no one or on at least 5 people — people who came, went or whose contribution
changed — and no count of people behind the figures, published or withheld, went up or down
by 1–4 (five people changing may still move a count by one: +3 −2). Otherwise the standing
release stays and the preview says why. So no difference between any two releases
Innokylä ever received isolates fewer than 5 people.

The hub keeps each family's releases (:class:`Release`: every figure as published and a
digest of every person's contribution to it, under the person's opaque token) in its store,
encrypted (:mod:`hub.store.indicator_releases`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.indicators.cells import UNKNOWN, Cell, follow_up_cells, main_cells
from hub.indicators.control import control
from hub.indicators.people import Inputs, Person, Token, gather
from hub.indicators.periods import FOLLOW_UP, MAIN, Period, Policy, final_on
from hub.indicators.preview import (
    NEW,
    OPEN,
    REASONS,
    RELEASED,
    REVISION,
    WAITING,
    WITHHELD,
    CellView,
    FamilyView,
)
from hub.indicators.relations import Limit, Row, across, counts_people, limits, relations
from hub.model import COUNTS, SMALL_COUNT, Indicator, IndicatorCode

#: (practice model, period start, period end, group), dates in ISO form
FamilyKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Release:
    """One release of a family: its figures as published (None for those never published:
    the people without a municipality), each person's contribution digest per figure and
    the counts of people behind the figures."""

    released_on: dt.date
    indicators: dict[str, dict | None]
    people: dict[str, dict[Token, str]]
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "released_on": self.released_on.isoformat(),
            "indicators": self.indicators,
            "people": self.people,
            "counts": self.counts,
        }

    @classmethod
    def from_json(cls, data: dict) -> Release:
        released_on = dt.date.fromisoformat(data["released_on"])
        return cls(released_on, data["indicators"], data["people"], data.get("counts", {}))


@dataclass
class Publication:
    """What :func:`publish` decided."""

    indicators: list[Indicator]  # what Innokylä should hold: each family's latest release
    released: dict[FamilyKey, list[Release]]  # the ledger, to pass to the next publish()
    families: list[FamilyView] = field(default_factory=list)


def native_id(indicator: Indicator) -> str:
    """The indicator's stable id: model, period start, code, category and municipality."""
    muni = indicator.municipality_codes[0] if indicator.municipality_codes else None
    return _cell_id(
        indicator.practice_model,
        indicator.period_start,
        indicator.code,
        indicator.category,
        muni,
    )


def _cell_id(model: str, start: dt.date, code: str, category: str | None, muni: str | None) -> str:
    out = f"{model}/{start.isoformat()}/{code}"
    return out + (f"/{category}" if category else "") + (f"@{muni}" if muni else "")


def _digest(contribution: object) -> str:
    return hashlib.blake2b(repr(contribution).encode(), digest_size=8).hexdigest()


def _indicator(model: str, period: Period, cell: Cell) -> Indicator:
    value = None
    if cell.suppression is None and cell.value is not None:
        value = float(round(cell.value)) if cell.code in COUNTS else round(cell.value, 1)
    return Indicator(
        practice_model=model,
        code=cell.code,
        category=cell.category,
        period_start=period.start,
        period_end=period.end,
        value=value,
        suppressed=value is None,
        suppression=cell.suppression if value is None else None,
        unit=cell.unit,
        municipality_codes=[cell.municipality] if cell.municipality else [],
    )


def scopes_of(people: dict[Token, Person]) -> list[str | None]:
    """All the family's people (None) and, when they are in more than one municipality,
    each municipality (and :data:`UNKNOWN`, the people without one: never published)."""
    places = {p.municipality or UNKNOWN for p in people.values()}
    return [None, *sorted(places)] if len(places) > 1 else [None]


def relations_of(cells: list[Cell], scopes: list[str | None]) -> tuple[list[Row], list[Limit]]:
    """Every relation between the quantities ``cells`` give away: equalities and bounds."""
    names = {n for c in cells for n in c.quantities}
    return relations(scopes) + across(names, scopes), limits(names)


def family_cells(
    people: dict[Token, Person], build: Callable[[dict, str | None], list[Cell]]
) -> list[Cell]:
    """The family's figures per scope (:func:`scopes_of`), disclosure-controlled."""
    cells: list[Cell] = []
    scopes = scopes_of(people)
    for where in scopes:
        group = (
            people
            if where is None
            else {t: p for t, p in people.items() if (p.municipality or UNKNOWN) == where}
        )
        cells += build(group, where)
    return control(cells, *relations_of(cells, scopes))


def _changes(earlier: Release, now: dict[str, dict[Token, str]]) -> dict[str, int]:
    """Per figure, how many people's contribution differs between ``earlier`` and ``now``."""
    out = {}
    for cid in earlier.people.keys() | now.keys():
        before, after = earlier.people.get(cid, {}), now.get(cid, {})
        out[cid] = sum(1 for t in before.keys() | after.keys() if before.get(t) != after.get(t))
    return out


def _decide(history: list[Release], new: Release) -> tuple[str, str, bool]:
    """(state, note, whether ``new`` is released) for a final family."""
    if not history:
        return NEW, "final: released in the next run", True
    latest = history[-1]
    if latest.indicators == new.indicators and latest.people == new.people:
        return RELEASED, f"released on {latest.released_on.isoformat()}", False
    small = {
        cid
        for earlier in history
        for cid, n in _changes(earlier, new.people).items()
        if 0 < n < SMALL_COUNT
    }
    moved = sorted(
        name
        for earlier in history
        for name, n in new.counts.items()
        if name in earlier.counts and 0 < abs(n - earlier.counts[name]) < SMALL_COUNT
    )
    if moved and not small:
        return (
            WITHHELD,
            f"revision withheld: it would move a count by fewer than {SMALL_COUNT} "
            f"({', '.join(moved[:3])}{' and more' if len(moved) > 3 else ''}); "
            f"the release of {latest.released_on.isoformat()} stands",
            False,
        )
    if small:
        shown = ", ".join(cid.split("/", 2)[2] for cid in sorted(small)[:3])
        more = f" and {len(small) - 3} more" if len(small) > 3 else ""
        return (
            WITHHELD,
            f"revision withheld: it would change figures for fewer than {SMALL_COUNT} people "
            f"({shown}{more}); the release of {latest.released_on.isoformat()} stands",
            False,
        )
    return REVISION, f"revision of the release of {latest.released_on.isoformat()}", True


def publish(
    inputs: Inputs,
    *,
    policy: Policy | None = None,
    today: dt.date,
    released: dict[FamilyKey, list[Release]] | None = None,
    person: Callable[[str], Token] | None = None,
) -> Publication:
    """Compute, control and release every family; ``released`` is the ledger so far."""
    policy = policy or Policy()
    ledger = {key: list(history) for key, history in (released or {}).items()}
    views: list[FamilyView] = []
    gathered = gather(inputs, policy, today, person or (lambda hetu: hetu))
    for (model, period), people in sorted(gathered.items()):
        for group, build in ((MAIN, main_cells), (FOLLOW_UP, follow_up_cells)):
            key = (model, period.start.isoformat(), period.end.isoformat(), group)
            cells = family_cells(people, build)
            views.append(_family(key, model, period, group, cells, ledger, policy, today))
    indicators = [
        Indicator.model_validate(data)
        for history in ledger.values()
        for data in history[-1].indicators.values()
        if data is not None
    ]
    return Publication(indicators, ledger, views)


def _family(key, model, period, group, cells, ledger, policy, today) -> FamilyView:
    ids = {id(c): _cell_id(model, period.start, c.code, c.category, c.municipality) for c in cells}
    new = Release(
        today,
        {
            ids[id(c)]: None
            if c.municipality == UNKNOWN
            else _indicator(model, period, c).model_dump(mode="json")
            for c in cells
        },
        {ids[id(c)]: {t: _digest(v) for t, v in c.people.items()} for c in cells},
        {
            name: int(value)
            for c in cells
            for name, value in c.quantities.items()
            if counts_people(name)
        },
    )
    history = ledger.get(key, [])
    publish_on = final_on(period, group, policy)
    if today <= period.end:
        state, note, go = OPEN, f"the period is running; final on {publish_on}", False
    elif today < publish_on:
        state, note, go = WAITING, f"closed; final and released on {publish_on}", False
    else:
        state, note, go = _decide(history, new)
    if go:
        ledger[key] = [*history, new]
    standing = ledger[key][-1] if state == WITHHELD else new
    before = history[-1].indicators if history else {}
    shown_cells = []
    for c in cells:
        cid = ids[id(c)]
        data = standing.indicators.get(cid)
        if c.municipality == UNKNOWN or data is None:
            continue
        ind = Indicator.model_validate(data)
        shown_cells.append(
            CellView(
                code=str(ind.code),
                category=ind.category,
                municipality=c.municipality,
                shown=ind.published_value(),
                value=ind.value,
                unit=ind.unit,
                suppression=str(ind.suppression) if ind.suppression else None,
                reason=REASONS[ind.suppression] if ind.suppression else "",
                changed=bool(before) and before.get(cid) != data,
            )
        )
    return FamilyView(
        model, period.start, period.end, group, state, note, publish_on, tuple(shown_cells)
    )


__all__ = ["FamilyKey", "IndicatorCode", "Publication", "Release", "native_id", "publish"]
