"""The disclosure prohibitions (luovutuskielto) of the case system's sandbox, deterministic:
one client in :data:`PROHIBITION_EVERY` has forbidden disclosing their data, and whether
one has depends on the person's number ``i`` alone (the export listing counts them without
generating anyone)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.synthetic import Person

#: one client in this many has a disclosure prohibition (:func:`prohibition`)
PROHIBITION_EVERY = 25


def has_prohibition(i: int) -> bool:
    """Whether person ``i`` has forbidden disclosing their data: one client in 25 (persons
    7, 32, 57, …)."""
    return i % PROHIBITION_EVERY == 7


def prohibition(p: Person, i: int, ep: dict[str, Any]) -> dict[str, Any]:
    """The ``i``-th person's disclosure prohibition (:func:`has_prohibition`), given in
    2025–2026; of every four in turn: one of all their data in force, one revoked some
    months later, one limited to the data of their episode's service, one limited and
    revoked."""
    given = dt.date(2025, 9, 1) + dt.timedelta(days=(i * 11) % 300)
    fields: dict[str, Any] = {"hetu": p.hetu, "voimassaAlkaen": given.isoformat()}
    kind = (i // PROHIBITION_EVERY) % 4
    if kind in (1, 3):
        fields["peruttu"] = (given + dt.timedelta(days=90 + i % 30)).isoformat()
    fields["palvelu"] = [ep["serviceCode"]] if kind in (2, 3) else []
    return fields
