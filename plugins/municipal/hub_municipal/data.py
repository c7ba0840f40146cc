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
import functools
from collections.abc import Callable, Iterator
from typing import Any

from hub.synthetic import Person, person, practice_model_for
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
#: the last night of the seeded exports: no attendance or assessment after it
TODAY = dt.date(2026, 11, 22)
#: weeks of attendance exported per episode (the latest ones)
ATTENDANCE_WEEKS = 8
#: where clients went when an episode ended; about a third moved on
OUTCOMES = ("TYO", "EI-MUUTOSTA", "KOULUTUS", "EI-MUUTOSTA", "MUU-PALVELU", "EI-TIEDOSSA")


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
    social = fields["serviceCode"] != "KTT"
    fields["practiceModel"] = practice_model_for(1, i, social_rehabilitation=social)
    if status in ("ENDED", "INTERRUPTED"):
        fields["outcome"] = OUTCOMES[(i // 4) % len(OUTCOMES)]
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


def _weeks(ep: dict[str, Any]) -> list[dt.date]:
    """Mondays of the latest weeks of an episode that has started (none for planned ones)."""
    if ep["status"] == "PLANNED":
        return []
    start = dt.date.fromisoformat(ep["startDate"])
    end = min(dt.date.fromisoformat(ep.get("actualEndDate") or TODAY.isoformat()), TODAY)
    if end < start:
        return []
    first = start - dt.timedelta(days=start.weekday())
    mondays = [first + dt.timedelta(weeks=w) for w in range((end - first).days // 7 + 1)]
    return mondays[-ATTENDANCE_WEEKS:]


def attendance(p: Person, i: int, ep: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(week number, fields) of the person's attendance weeks: the episode's days a week,
    an absence now and then, and rarely a week of six attended days (valid here; Kela pays
    at most five a week, so the attendance report refuses it)."""
    start = dt.date.fromisoformat(ep["startDate"])
    end = min(dt.date.fromisoformat(ep.get("actualEndDate") or TODAY.isoformat()), TODAY)
    days = int(ep["daysPerWeek"])
    for w, monday in enumerate(_weeks(ep)):
        n = 6 if (i * 7 + w) % 89 == 0 else days
        dates = [monday + dt.timedelta(days=d) for d in range(n)]
        dates = [d for d in dates if start <= d <= end]
        if not dates:
            continue
        absent = [dates[-1]] if len(dates) > 1 and (i + w) % 5 == 0 else []
        year, week, _ = monday.isocalendar()
        yield (
            w,
            {
                "hetu": p.hetu,
                "serviceCode": ep["serviceCode"],
                "episodeStart": ep["startDate"],
                "providerBusinessId": PROVIDER,
                "week": f"{year}-W{week:02d}",
                "attendedDate": [d.isoformat() for d in dates if d not in absent],
                "absentDate": [d.isoformat() for d in absent],
            },
        )


def assessments(p: Person, i: int, ep: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Kykyviisari at the start of the episode and four months later, a little better on
    average."""
    if ep["status"] == "PLANNED":
        return
    start = dt.date.fromisoformat(ep["startDate"])
    base = 3 + i % 4
    for n, (when, gain) in enumerate(((start, 0), (start + dt.timedelta(days=120), i % 3))):
        if when > TODAY:
            return
        yield (
            n,
            {
                "hetu": p.hetu,
                "assessedOn": when.isoformat(),
                "workAbility": str(min(10, base + gain)),
                "keho": str(min(10, base + 1)),
                "mieli": str(min(10, base + gain)),
                "taidot": str(min(10, base + (gain + 1) // 2)),
                "arki": str(min(10, base + gain)),
                "osallisuus": str(min(10, base + 2 * gain)),
            },
        )


def _corrupt_hetu(fields: dict[str, Any]) -> dict[str, Any]:
    """Still valid against the XSD, but the check character is wrong: the model refuses."""
    code = fields["hetu"]
    return {**fields, "hetu": code[:-1] + ("A" if code[-1] != "A" else "B")}


def export_records(
    seed: int, size: int, index: int, malformed: Callable[[int], bool]
) -> Iterator[ExportRecord]:
    """The records of seeded export ``index``, generated one by one; ``malformed(i)`` says
    whether person ``i``'s episode is to be corrupted."""
    for i in range(index, size, len(EXPORT_IDS)):
        p = person(seed, i)
        bad = malformed(i)
        ep = episode(p, i)
        yield "client", record_id("client", i), _corrupt_hetu(client(p)) if bad else client(p)
        yield "episode", record_id("episode", i), episode(p, i, malformed=bad)
        if has_plan(i):
            yield "plan", record_id("plan", i), _corrupt_hetu(plan(p, i)) if bad else plan(p, i)
        for w, fields in attendance(p, i, ep):
            yield "attendance", f"A-{i:06d}{w:02d}", _corrupt_hetu(fields) if bad else fields
        for n, fields in assessments(p, i, ep):
            yield "assessment", f"K-{i:06d}{n}", _corrupt_hetu(fields) if bad else fields


@functools.cache
def export_counts(size: int, index: int) -> dict[str, int]:
    """Records per element in seeded export ``index``, without generating them."""
    people = range(index, size, len(EXPORT_IDS))
    counts = {"client": len(people), "episode": len(people), "attendance": 0, "assessment": 0}
    counts["plan"] = sum(1 for i in people if has_plan(i))
    for i in people:
        weeks, assessed = _activity_counts(i)
        counts["attendance"] += weeks
        counts["assessment"] += assessed
    return counts


def _activity_counts(i: int) -> tuple[int, int]:
    """(attendance weeks, assessments) of person ``i``, as :func:`attendance` and
    :func:`assessments` yield them, by date arithmetic only (a listing of 200 000 people)."""
    day = dt.timedelta(days=1)
    status = "PLANNED" if i % 10 == 9 else ("ACTIVE", "ACTIVE", "ENDED", "INTERRUPTED")[i % 4]
    if status == "PLANNED":
        return 0, 0
    start = dt.date(2026, 1, 5) + dt.timedelta(days=(i * 5) % 150)
    length = {"ENDED": 150, "INTERRUPTED": 40}.get(status)
    end = min(start + dt.timedelta(days=length), TODAY) if length else TODAY
    first = start - dt.timedelta(days=start.weekday())
    total = (end - first).days // 7 + 1
    weeks = 0
    for w in range(max(0, total - ATTENDANCE_WEEKS), total):
        n = 6 if (i * 7 + w - max(0, total - ATTENDANCE_WEEKS)) % 89 == 0 else 1 + i % 4
        monday = first + dt.timedelta(weeks=w)
        if monday + (n - 1) * day >= start and monday <= end:
            weeks += 1
    assessed = sum(1 for when in (start, start + 120 * day) if when <= TODAY)
    return weeks, assessed


def nightly_export_id(done: int) -> str:
    """The id of the nightly export closed after ``done`` earlier ones (the night after)."""
    last = dt.date.fromisoformat(EXPORT_IDS[-1])
    return (last + dt.timedelta(days=done + 1)).isoformat()
