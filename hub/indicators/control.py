"""Statistical disclosure control of one family's figures: primary and secondary suppression.

*Primary* suppression (the threshold rule, n = 5 people): a count of 1–4; a mean, share or
rate resting on fewer than 5 people; a share or rate whose part or rest is 0–4 people (so
neither 0 % nor 100 % of a group, nor a part one could count on one hand, is published);
sessions or a mean per session with fewer than 5 sessions or attendees.

*Secondary* (complementary) suppression: the family is audited
(:func:`hub.indicators.audit.audit`); while a withheld figure can be worked out from the
published ones, or withheld figures add up to a small group, more published figures are
withheld — for each leak, one among those that give it away (:func:`_cost` says which
first), leaks that share those figures waiting for the next audit — and the audit repeats.
"""

from __future__ import annotations

import logging

from hub.indicators.audit import audit
from hub.indicators.cells import COUNT, MEAN, PER_SESSION, RATE, SESSIONS, SHARE, Cell
from hub.indicators.relations import Limit, Row
from hub.model import SMALL_COUNT, Suppression

log = logging.getLogger(__name__)


def _small(n: int) -> bool:
    return 0 < n < SMALL_COUNT


def primary(cell: Cell) -> Suppression | None:
    """Why ``cell`` may not be published on its own, or None."""
    people = cell.people
    n = len(people)
    if cell.kind == COUNT:
        return Suppression.SMALL_COUNT if _small(n) else None
    if cell.kind == MEAN:
        return Suppression.FEW_PEOPLE if n < SMALL_COUNT else None
    if cell.kind == SHARE:
        part = sum(1 for v in people.values() if v)
        if n < SMALL_COUNT:
            return Suppression.FEW_PEOPLE
        return Suppression.SMALL_PART if min(part, n - part) < SMALL_COUNT else None
    attending = sum(1 for a, _ in people.values() if a)
    sessions = int(cell.value or 0) if cell.kind == SESSIONS else None
    if cell.kind == SESSIONS:
        if _small(sessions or 0):
            return Suppression.SMALL_COUNT
        return Suppression.FEW_PEOPLE if _small(attending) else None
    if cell.kind == PER_SESSION:
        sessions = min(int(v) for k, v in cell.quantities.items() if k.startswith("sessions@"))
        few = attending < SMALL_COUNT or sessions < SMALL_COUNT
        return Suppression.FEW_PEOPLE if few else None
    if cell.kind == RATE:
        absent = sum(1 for _, b in people.values() if b)
        if n < SMALL_COUNT:
            return Suppression.FEW_PEOPLE
        return Suppression.SMALL_PART if min(attending, absent) < SMALL_COUNT else None
    raise ValueError(f"{cell.code}: unknown kind {cell.kind!r}")


def _cost(cell: Cell) -> tuple:
    """Which figure to withhold first: a municipality's before the model's, a category's
    before a total, a non-empty one before an empty one, then the smallest."""
    total = cell.category is None
    return (cell.municipality is None, total, not cell.people, len(cell.people), cell.key)


def control(
    cells: list[Cell], rows: list[Row], bounds: list[Limit] = (), *, rounds: int = 1_000
) -> list[Cell]:
    """Suppress what must be: ``cells`` with their ``suppression`` set."""
    for cell in cells:
        cell.suppression = primary(cell)
    free: set = set()
    for _ in range(rounds):
        leaks = audit(cells, rows, bounds, free)
        if not leaks:
            return cells
        chosen: list[Cell] = []
        touched: set[str] = set()
        for leak in leaks:
            if leak.quantities & touched:
                continue  # the next audit tells whether what was chosen stops it
            candidates = [c for c in cells if c.published and leak.quantities & set(c.quantities)]
            if candidates:
                cell = min(candidates, key=_cost)
                chosen.append(cell)
                touched |= set(cell.quantities)
        if not chosen:  # cannot happen: withhold everything rather than publish a leak
            log.error("disclosure control: %d leaks and no figure to withhold", len(leaks))
            for cell in cells:
                cell.suppression = cell.suppression or Suppression.SECONDARY
            return cells
        for cell in chosen:
            cell.suppression = Suppression.SECONDARY
    raise RuntimeError("disclosure control did not settle")
