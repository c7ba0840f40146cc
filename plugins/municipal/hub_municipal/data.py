"""Deterministic synthetic data of the municipal case system's sandbox.

The same people as every other sandbox with the same seed (:func:`hub.synthetic.person`):
person ``i`` is client ``C-<i>`` with one service episode ``E-<i>`` (KTT mostly; active,
ended or interrupted, a few planned) and, for every fourth person, an activation plan
``P-<i>``. The records are spread over three past nightly exports, person ``i`` in export
``i % 3``. Records are generated on demand, so a sandbox of 200 000 people holds no XML (and
no list of records) in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from hub.synthetic import Person, person
from hub_municipal import mapping as m
from hub_municipal.xmlformat import ExportRecord

#: the seeded nightly exports, oldest first
EXPORT_IDS = ("2026-11-20", "2026-11-21", "2026-11-22")
GENERATED_AT = "T23:30:00+02:00"
PROVIDER = "0211675-2"
OFFICIAL = "Sosiaaliohjaaja Matti Malli"
REASONS = (
    "Asiakkaan terveydentila",
    "Asiakas aloitti koulutuksen",
    "Asiakas ei ole tavoitettavissa",
)
GOALS = ("Päivärytmin vahvistaminen", "Ryhmässä toimimisen harjoittelu", "Työkyvyn arviointi")
MEASURES = ("Kuntouttava työtoiminta", "Sosiaaliohjaus", "Terveystarkastus")


def record_id(element: str, number: int) -> str:
    return f"{m.BY_ELEMENT[element].id_prefix}-{number:06d}"


def first_import_number(size: int) -> int:
    """Imported records are numbered above every seeded one: E-100001 for small sandboxes."""
    return max(100_000, 10 ** len(str(size)))


def is_seeded(element: str, rid: str, size: int) -> bool:
    """Whether ``rid`` names a seeded record of kind ``element``."""
    prefix, _, number = rid.partition("-")
    if prefix != m.BY_ELEMENT[element].id_prefix or not number.isdigit():
        return False
    i = int(number)
    return i < size and (element != "plan" or has_plan(i))


def has_plan(i: int) -> bool:
    return i % 4 == 0


def client(p: Person) -> dict[str, Any]:
    return {
        "hetu": p.hetu,
        "firstName": p.first_name,
        "lastName": p.last_name,
        "homeMunicipality": p.home_municipality,
        "language": p.language,
    }


def episode(p: Person, i: int, *, malformed: bool = False) -> dict[str, Any]:
    """The ``i``-th person's service episode: consistent with the canonical model unless
    ``malformed``; 1–4 days a week and 4–7 hours a day, inside the KTT limits."""
    start = dt.date(2026, 1, 5) + dt.timedelta(days=(i * 5) % 150)
    status = "PLANNED" if i % 10 == 9 else ("ACTIVE", "ACTIVE", "ENDED", "INTERRUPTED")[i % 4]
    if status == "PLANNED":
        start = dt.date(2027, 1, 4) + dt.timedelta(days=i % 30)
    fields: dict[str, Any] = {
        "hetu": p.hetu,
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
        fields["interruptionReason"] = REASONS[i % len(REASONS)]
    if malformed:  # valid against export.xsd, but it ends before it starts: the model refuses
        fields["status"] = "ENDED"
        fields["actualEndDate"] = (start - dt.timedelta(days=10)).isoformat()
        fields.pop("interruptionReason", None)
    return fields


def plan(p: Person, i: int) -> dict[str, Any]:
    drawn = dt.date(2025, 12, 1) + dt.timedelta(days=i % 120)
    return {
        "hetu": p.hetu,
        "drawnUp": drawn.isoformat(),
        "goal": [GOALS[i % 3], GOALS[(i + 1) % 3]],
        "measure": [MEASURES[i % 3]],
        "official": OFFICIAL,
        "reviewDate": (drawn + dt.timedelta(days=120)).isoformat(),
    }


def export_records(
    seed: int, size: int, index: int, malformed: Callable[[int], bool]
) -> Iterator[ExportRecord]:
    """The records of seeded export ``index``, generated one by one; ``malformed(i)`` says
    whether person ``i``'s episode is to be corrupted."""
    for i in range(index, size, len(EXPORT_IDS)):
        p = person(seed, i)
        yield "client", record_id("client", i), client(p)
        yield "episode", record_id("episode", i), episode(p, i, malformed=malformed(i))
        if has_plan(i):
            yield "plan", record_id("plan", i), plan(p, i)


def export_counts(size: int, index: int) -> dict[str, int]:
    """Records per element in seeded export ``index``, without generating them."""
    people = range(index, size, len(EXPORT_IDS))
    return {
        "client": len(people),
        "episode": len(people),
        "plan": sum(1 for i in people if has_plan(i)),
    }


def nightly_export_id(done: int) -> str:
    """The id of the nightly export closed after ``done`` earlier ones (the night after)."""
    last = dt.date.fromisoformat(EXPORT_IDS[-1])
    return (last + dt.timedelta(days=done + 1)).isoformat()
