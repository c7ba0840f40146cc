"""What a release would publish, figure by figure, for people to look at before it goes out
(the dashboard's indicator page, :mod:`hub.ops.indicators`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.model import Suppression

#: the states of a family: the period still running; closed, waiting to be final; final and
#: never released; released and unchanged; to be revised; a revision withheld
OPEN, WAITING, NEW, RELEASED, REVISION, WITHHELD = (
    "open",
    "waiting",
    "new",
    "released",
    "revision",
    "withheld",
)
#: the states in which the family's figures are (or are about to be) published
PUBLISHED_STATES = frozenset({NEW, RELEASED, REVISION, WITHHELD})

REASONS = {
    Suppression.SMALL_COUNT: "a count of 1–4 people",
    Suppression.FEW_PEOPLE: "rests on fewer than 5 people",
    Suppression.SMALL_PART: "its part or its rest is 0–4 people (no 0 % or 100 % of a group)",
    Suppression.SECONDARY: "withheld so that another withheld figure cannot be worked out",
}


@dataclass(frozen=True)
class CellView:
    code: str
    category: str | None
    municipality: str | None  # None: all municipalities
    shown: str  # what is or would be published: the number or "x"
    value: float | None  # None when suppressed
    unit: str
    suppression: str | None
    reason: str  # why suppressed, in words ("" when published)
    changed: bool  # differs from the family's last release


@dataclass(frozen=True)
class FamilyView:
    practice_model: str
    period_start: dt.date
    period_end: dt.date
    group: str  # "main" or "follow_up"
    state: str
    note: str
    publish_on: dt.date | None
    cells: tuple[CellView, ...]

    @property
    def published(self) -> bool:
        return self.state in PUBLISHED_STATES

    def cell(
        self, code: str, category: str | None = None, municipality: str | None = None
    ) -> CellView | None:
        for cell in self.cells:
            if (cell.code, cell.category, cell.municipality) == (code, category, municipality):
                return cell
        return None

    @property
    def municipalities(self) -> list[str]:
        return sorted({c.municipality for c in self.cells if c.municipality})
