"""Deterministic synthetic data of the municipal case system's sandbox.

The same people as every other sandbox with the same seed (:func:`hub.synthetic.people`):
person ``i`` has client ``C-i``, one service episode ``E-i`` of the municipality's own (KTT
mostly; active, ended or interrupted) and, for every third person, an activation plan
``P-i``. The records are spread over three nightly exports, person ``i`` in export ``i % 3``.
Records are generated on demand, so a sandbox of 200 000 people holds no XML in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from hub.synthetic import person

EXPORT_IDS = ("2026-11-20", "2026-11-21", "2026-11-22")
PROVIDER = "0211675-2"
REASONS = (
    "Asiakkaan terveydentila",
    "Asiakas aloitti koulutuksen",
    "Asiakas ei ole tavoitettavissa",
)


def client(seed: int, i: int) -> dict[str, Any]:
    p = person(seed, i)
    return {
        "hetu": p.hetu,
        "firstName": p.first_name,
        "lastName": p.last_name,
        "homeMunicipality": p.home_municipality,
        "language": p.language,
    }


def episode(seed: int, i: int, *, malformed: bool = False) -> dict[str, Any]:
    start = dt.date(2026, 3, 2) + dt.timedelta(days=(i * 5) % 150)
    status = ("ACTIVE", "ACTIVE", "ENDED", "INTERRUPTED")[i % 4]
    fields: dict[str, Any] = {
        "hetu": person(seed, i).hetu,
        "serviceCode": "SOSKU-RYH" if i % 7 == 6 else "KTT",
        "providerBusinessId": PROVIDER,
        "decisionDate": (start - dt.timedelta(days=10)).isoformat(),
        "startDate": start.isoformat(),
        "plannedEndDate": (start + dt.timedelta(days=180)).isoformat(),
        "daysPerWeek": str(1 + i % 4),
        "hoursPerDay": str(4 + i % 4),
        "status": status,
    }
    if status == "ENDED":
        fields["actualEndDate"] = (start + dt.timedelta(days=150)).isoformat()
    if status == "INTERRUPTED":
        fields["actualEndDate"] = (start + dt.timedelta(days=40)).isoformat()
        fields["interruptionReason"] = REASONS[i % 3]
    if malformed:  # schema-valid, but ends before it starts: the canonical model refuses it
        fields["status"] = "ENDED"
        fields["actualEndDate"] = (start - dt.timedelta(days=10)).isoformat()
        fields.pop("interruptionReason", None)
    return fields


def plan(seed: int, i: int) -> dict[str, Any]:
    drawn = dt.date(2026, 2, 2) + dt.timedelta(days=i % 120)
    return {
        "hetu": person(seed, i).hetu,
        "drawnUp": drawn.isoformat(),
        "goal": ["Päivärytmin vahvistaminen", "Ryhmässä toimimisen harjoittelu"],
        "measure": ["Kuntouttava työtoiminta", "Sosiaaliohjaus"],
        "official": "Sosiaaliohjaaja Matti Malli",
        "reviewDate": (drawn + dt.timedelta(days=120)).isoformat(),
    }


def export_records(
    seed: int, size: int, export_index: int, malformed
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(element, id, fields) of one seeded export; ``malformed(i)`` corrupts episode ``i``."""
    for i in range(export_index, size, len(EXPORT_IDS)):
        yield "client", f"C-{i:06d}", client(seed, i)
        yield "episode", f"E-{i:06d}", episode(seed, i, malformed=malformed(i))
        if i % 3 == 0:
            yield "plan", f"P-{i:06d}", plan(seed, i)
