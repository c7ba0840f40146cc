"""A deliberately naive publication of the same figures, to show the attacks have teeth.

The figures are the hub's own (:func:`hub.indicators.people.gather`, the cells of
:mod:`hub.indicators.cells`), published the way the hub did before issue 15: the threshold
rule cell by cell and nothing more — a count of 1–4 is ``"<5"``, a mean on fewer than 5
people ``"<5"``, a share of fewer than 5 people ``"<5"`` and one whose part or rest is 1–4
``"x"`` (0 % and 100 % are published), sessions and attendance with fewer than 5 sessions or
attendees ``"<5"`` — with no secondary suppression, every period published at once, open
or not, and every change republished.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.indicators import Inputs, Policy
from hub.indicators.cells import (
    COUNT,
    MEAN,
    PER_SESSION,
    RATE,
    SESSIONS,
    SHARE,
    UNKNOWN,
    Cell,
    follow_up_cells,
    main_cells,
)
from hub.indicators.people import gather
from hub.model import COUNTS


def _small(n: int) -> bool:
    return 1 <= n <= 4


def shown(cell: Cell) -> str:
    """The cell's published value under the naive rules."""
    people = cell.people
    if cell.kind == COUNT:
        return "<5" if _small(len(people)) else f"{int(cell.value or 0)}"
    if cell.kind == MEAN and len(people) < 5:
        return "<5"
    if cell.kind == SHARE:
        part = sum(1 for v in people.values() if v)
        if len(people) < 5:
            return "<5"
        if _small(part) or _small(len(people) - part):
            return "x"
    if cell.kind in (SESSIONS, PER_SESSION, RATE):
        attending = sum(1 for a, _ in people.values() if a)
        if cell.kind == SESSIONS and _small(int(cell.value or 0)):
            return "<5"
        if cell.kind != SESSIONS and (attending < 5 or cell.value is None):
            return "<5"
    if cell.value is None:
        return "<5"
    return f"{int(cell.value)}" if cell.code in COUNTS else f"{cell.value:.1f}"


def publication(inputs: Inputs, today: dt.date, policy: Policy | None = None) -> list[dict]:
    """Every figure of every model and period, as the naive rules publish them."""
    policy = policy or Policy()
    items: list[dict[str, Any]] = []
    for (model, period), people in sorted(gather(inputs, policy, today, str).items()):
        places = sorted({p.municipality for p in people.values() if p.municipality})
        for where in [None, *places]:
            group = {t: p for t, p in people.items() if where is None or p.municipality == where}
            for cell in main_cells(group, where) + follow_up_cells(group, where):
                if cell.municipality == UNKNOWN:
                    continue
                item = {
                    "practiceModel": model,
                    "indicator": str(cell.code),
                    "periodStart": period.start.isoformat(),
                    "periodEnd": period.end.isoformat(),
                    "value": shown(cell),
                    "unit": cell.unit,
                }
                if cell.category:
                    item["category"] = cell.category
                if where:
                    item["municipalities"] = [where]
                items.append(item)
    return items
