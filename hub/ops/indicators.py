"""What the next release of indicators would publish: the service behind the dashboard's
indicator page and ``hub indicators preview``.

The preview computes exactly what the exchange's next run would (the same inputs, the same
disclosure control, checked against the same earlier releases) without releasing anything.
Computing it reads clients' records, so the reading is written to the access log under the
person who asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.adapter import RunContext
from hub.ends.derived import compute
from hub.errors import ConfigError
from hub.exchanges import Exchange
from hub.indicators import FamilyView
from hub.indicators.cells import FOLLOW_UP_CODES
from hub.indicators.periods import FOLLOW_UP, MAIN
from hub.model import Indicator

HUB = "hub"


@dataclass(frozen=True)
class Preview:
    exchange: str
    as_of: dt.date
    families: list[FamilyView]

    def models(self) -> list[str]:
        return sorted({f.practice_model for f in self.families})

    def series(
        self, model: str, code: str, category: str | None = None
    ) -> list[tuple[dt.date, float | None]]:
        """The published (or to be published) figure for all municipalities, per period of
        ``model``, oldest first; None where it is suppressed."""
        group = FOLLOW_UP if code in FOLLOW_UP_CODES else MAIN
        out = []
        for family in sorted(self.families, key=lambda f: f.period_start):
            if family.practice_model != model or family.group != group or not family.published:
                continue
            cell = family.cell(code, category)
            out.append((family.period_start, cell.value if cell else None))
        return out


def publishing_exchanges(hub) -> list[Exchange]:
    """The exchanges that publish the indicators the hub derives."""
    return [
        x
        for x in hub.config.exchanges.values()
        if x.source == HUB and any(f.entity == Indicator.entity_name for f in x.entities)
    ]


def preview(
    hub, *, actor: str, exchange: str | None = None, today: dt.date | None = None
) -> Preview:
    """What ``exchange`` (by default the only one publishing indicators) would release."""
    found = publishing_exchanges(hub)
    if exchange is not None:
        found = [x for x in found if x.name == exchange]
    if not found:
        named = f" named {exchange}" if exchange else ""
        raise ConfigError(f"no exchange{named} publishes indicators (source hub, Indicator)")
    chosen = found[0]
    today = today or dt.date.today()
    publication = compute(
        RunContext(hub, chosen),
        today=today,
        actor=actor,
        purpose=f"preview of the indicators {chosen.name} would publish",
    )
    return Preview(chosen.name, today, publication.families)
