"""The records of the case system sandbox's seeded nightly exports, generated one by one
(:func:`export_records`), and how many of each kind every export holds, counted from the
dates alone (:func:`export_counts`); the records themselves are :mod:`.data`'s, person ``i``
in export ``i % 3``. A malformed person's records stay valid against export.xsd but the
model refuses them (:func:`corrupt_hetu`)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hub.synthetic import person
from hub_municipal import income_support, measures
from hub_municipal import mapping as m
from hub_municipal.data import (
    EXPORT_IDS,
    TODAY,
    assessment_dates,
    assessments,
    attendance,
    attendance_week_count,
    client,
    episode,
    has_plan,
    has_prohibition,
    plan,
    prohibition,
    record_id,
    schedule,
)
from hub_municipal.xmlformat import ExportRecord


def corrupt_hetu(fields: dict[str, Any]) -> dict[str, Any]:
    """Still valid against the XSD, but the check character is wrong: the model refuses."""
    code = fields["hetu"]
    return {**fields, "hetu": code[:-1] + ("A" if code[-1] != "A" else "B")}


def export_records(
    seed: int,
    size: int,
    index: int,
    malformed: Callable[[int], bool],
    municipalities: Sequence[str] | None = None,
) -> Iterator[ExportRecord]:
    """The records of seeded export ``index``, generated one by one; ``malformed(i)`` says
    whether person ``i``'s records are to be corrupted; ``municipalities`` are the ones the
    system serves."""
    for i in range(index, size, len(EXPORT_IDS)):
        p = person(seed, i)
        bad = malformed(i)
        ep = episode(p, i, seed=seed, municipalities=municipalities)
        yield "client", record_id("client", i), corrupt_hetu(client(p)) if bad else client(p)
        yield (
            "episode",
            record_id("episode", i),
            (
                episode(p, i, seed=seed, malformed=True, municipalities=municipalities)
                if bad
                else ep
            ),
        )
        if has_plan(i):
            yield "plan", record_id("plan", i), corrupt_hetu(plan(p, i)) if bad else plan(p, i)
        for w, fields in attendance(p, i, ep):
            yield "attendance", f"A-{i:06d}{w:02d}", corrupt_hetu(fields) if bad else fields
        for n, fields in assessments(p, i):
            yield "assessment", f"K-{i:06d}{n}", corrupt_hetu(fields) if bad else fields
        sched = schedule(i)
        for rid, fields in measures.follow_ups(p, i, sched, ep, TODAY):
            yield m.FOLLOW_UP.element, rid, corrupt_hetu(fields) if bad else fields
        if measures.has_feedback(i, sched):
            fields = measures.feedback(p, i, sched, ep)
            fields = corrupt_hetu(fields) if bad else fields
            yield m.FEEDBACK.element, measures.feedback_id(i), fields
        if has_prohibition(i):
            fields = prohibition(p, i, ep)
            element = m.DISCLOSURE_PROHIBITION.element
            yield element, record_id(element, i), corrupt_hetu(fields) if bad else fields
        for n, fields in income_support.records(p, i, TODAY):
            rid = f"{m.INCOME_SUPPORT.id_prefix}-{i:06d}{n:02d}"
            yield m.INCOME_SUPPORT.element, rid, corrupt_hetu(fields) if bad else fields


@functools.cache
def export_counts(size: int, index: int) -> dict[str, int]:
    """Records per element in seeded export ``index``, from the dates alone (no person is
    generated: the listing of a sandbox of 200 000 people stays quick)."""
    people = range(index, size, len(EXPORT_IDS))
    after: Counter[str] = Counter()
    for i in people:
        after.update(measures.count(i, schedule(i), TODAY))
    return {
        "client": len(people),
        "episode": len(people),
        "plan": sum(1 for i in people if has_plan(i)),
        "attendance": sum(attendance_week_count(i) for i in people),
        "assessment": sum(len(assessment_dates(i)) for i in people),
        m.FOLLOW_UP.element: after[m.FOLLOW_UP.element],
        m.FEEDBACK.element: after[m.FEEDBACK.element],
        m.DISCLOSURE_PROHIBITION.element: sum(1 for i in people if has_prohibition(i)),
        m.INCOME_SUPPORT.element: sum(income_support.count(i) for i in people),
    }


def nightly_export_id(done: int) -> str:
    """The id of the nightly export closed after ``done`` earlier ones (the night after)."""
    last = dt.date.fromisoformat(EXPORT_IDS[-1])
    return (last + dt.timedelta(days=done + 1)).isoformat()
