"""The log tables against their chain entries (passes 2 and 3 of :mod:`hub.audit.verify`):
access events and their ``access_log`` rows, disclosures and their ``disclosure_log`` rows,
and each row's outcome against the disclosure's latest settlement. Streamed in id order:
memory holds one event's or disclosure's rows at a time."""

from __future__ import annotations

import heapq
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from hub.audit.chain import (
    ACCESS,
    ACCESS_FIELDS,
    ACCESS_ROW,
    DISCLOSURE,
    DISCLOSURE_FIELDS,
    DISCLOSURE_ROW,
    SETTLEMENT,
    content,
    field_tag,
    row_tag,
    settled_outcomes,
    settlement_digest,
)
from hub.audit.report import Report
from hub.audit.report import stream as _stream
from hub.store import schema as t

SENDING = "sending"


# --- 2 and 3. the log tables ------------------------------------------------------------------


def _merge(*streams: tuple[Iterable[Any], Callable[[Any], int]]) -> Iterator[tuple[int, list]]:
    """Streams each sorted by an id, grouped by that id: ``(id, [items of each stream])``."""

    def tag(n: int, stream: Iterable[Any], key: Callable[[Any], int]):
        return ((key(item), n, i, item) for i, item in enumerate(stream))

    tagged = [tag(n, stream, key) for n, (stream, key) in enumerate(streams)]
    for ref, group in itertools.groupby(heapq.merge(*tagged), key=lambda x: x[0]):
        parts: list[list[Any]] = [[] for _ in streams]
        for _, n, _, item in group:
            parts[n].append(item)
        yield ref, parts


@dataclass(frozen=True)
class _Shape:
    kind: str
    parent: str
    child: str
    noun: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]


ACCESS_SHAPE = _Shape(ACCESS, "access_events", "access_log", "event", ACCESS_FIELDS, ACCESS_ROW)
DISCLOSURE_SHAPE = _Shape(
    DISCLOSURE, "disclosures", "disclosure_log", "disclosure", DISCLOSURE_FIELDS, DISCLOSURE_ROW
)


def _entries(conn: Connection, kind: str):
    c = t.log_chain.c
    return _stream(
        conn,
        select(c.seq, c.ref_id, c.digest, c.detail, c.row_tags)
        .where(c.kind == kind)
        .order_by(c.ref_id, c.seq),
    )


def check_access(conn: Connection, report: Report) -> None:
    e, r = t.access_events.c, t.access_log.c
    events = _stream(conn, select(e.id, *(e[f] for f in ACCESS_FIELDS)).order_by(e.id))
    rows = _stream(
        conn, select(r.id, r.event_id, *(r[f] for f in ACCESS_ROW)).order_by(r.event_id, r.id)
    )
    for ref, (chained, found, its_rows) in _merge(
        (_entries(conn, ACCESS), lambda x: x.ref_id),
        (events, lambda x: x.id),
        (rows, lambda x: x.event_id),
    ):
        _check_one(report, ACCESS_SHAPE, ref, chained, found, its_rows)


def check_disclosures(conn: Connection, report: Report) -> None:
    d, r = t.disclosures.c, t.disclosure_log.c
    found_d = _stream(conn, select(d.id, *(d[f] for f in DISCLOSURE_FIELDS)).order_by(d.id))
    rows = _stream(
        conn,
        select(r.id, r.disclosure_id, r.outcome, *(r[f] for f in DISCLOSURE_ROW)).order_by(
            r.disclosure_id, r.id
        ),
    )
    for ref, (chained, settled, found, its_rows) in _merge(
        (_entries(conn, DISCLOSURE), lambda x: x.ref_id),
        (_entries(conn, SETTLEMENT), lambda x: x.ref_id),
        (found_d, lambda x: x.id),
        (rows, lambda x: x.disclosure_id),
    ):
        for s in settled:
            if settlement_digest(ref, json.loads(s.detail)) != bytes(s.digest):
                report.problem(
                    "log_chain",
                    None,
                    s.seq,
                    f"the settlement of disclosure {ref}: its outcomes were edited",
                )
        if not chained and not found and not its_rows:
            continue  # a settlement whose disclosure was pruned
        if _check_one(report, DISCLOSURE_SHAPE, ref, chained, found, its_rows) and found:
            _check_outcomes(report, ref, chained[0].seq, settled[-1] if settled else None, its_rows)


def _check_one(
    report: Report, shape: _Shape, ref: int, chained: list, found: list, rows: list
) -> bool:
    """Check event or disclosure ``ref`` against its entry; whether it is chained."""
    if len(chained) > 1:
        report.problem(
            shape.parent,
            ref,
            chained[1].seq,
            f"chained twice (seq {chained[0].seq} and {chained[1].seq}): an entry was copied",
        )
    if not chained:
        if found:
            report.problem(shape.parent, ref, None, "not in the chain: inserted")
        else:
            for row in rows:
                report.problem(
                    shape.child, row.id, None, f"its {shape.noun} {ref} does not exist: inserted"
                )
        return False
    entry = chained[0]
    if not found:
        report.problem(
            shape.parent, ref, entry.seq, f"missing: deleted ({len(rows)} of its rows remain)"
        )
        return True
    header = [getattr(found[0], f) for f in shape.fields]
    values = [tuple(getattr(row, c) for c in shape.columns) for row in rows]
    got = content(shape.kind, ref, shape.fields, header, values)
    if got.digest != bytes(entry.digest):
        _diagnose(report, shape, ref, entry, header, rows, values)
    return True


def _diagnose(report, shape, ref, entry, header, rows, values) -> None:
    """Say what differs from the entry, by the tags it keeps."""
    before = len(report.problems)
    detail = json.loads(entry.detail)
    kept = detail.get("fields", {})
    for name, value in zip(shape.fields, header, strict=True):
        if kept.get(name) != field_tag(value):
            report.problem(shape.parent, ref, entry.seq, f"{name} differs from what was chained")
    width = 2 * len(shape.columns)
    tags = bytes(entry.row_tags or b"")
    chained = Counter(tags[i : i + width] for i in range(0, len(tags), width))
    extra = []
    for row, vals in zip(rows, values, strict=True):
        tag = row_tag(vals)
        if chained[tag] > 0:
            chained[tag] -= 1
        else:
            extra.append((row, tag))
    missing = list(chained.elements())

    def same(a: bytes, b: bytes) -> list[bool]:
        return [a[i : i + 2] == b[i : i + 2] for i in range(0, width, 2)]

    for row, tag in extra:
        best = max(missing, key=lambda m: sum(same(m, tag)), default=None)
        if best is not None and any(same(best, tag)):
            missing.remove(best)
            cols = [c for c, eq in zip(shape.columns, same(best, tag), strict=True) if not eq]
            report.problem(
                shape.child,
                row.id,
                entry.seq,
                f"{', '.join(cols)} differs from what was chained ({shape.noun} {ref})",
            )
        else:
            report.problem(
                shape.child, row.id, entry.seq, f"not chained with {shape.noun} {ref}: inserted"
            )
    for _ in missing:
        report.problem(
            shape.child,
            None,
            entry.seq,
            f"a row of {shape.noun} {ref} is missing: deleted (chained with "
            f"{detail.get('rows')} rows, {len(rows)} now)",
        )
    if len(report.problems) == before:
        report.problem(shape.parent, ref, entry.seq, "its content differs from what was chained")


def _check_outcomes(report: Report, ref: int, seq: int, latest, rows: list) -> None:
    """Each row's outcome is the one its disclosure's latest settlement states."""
    if latest is None:
        for row in rows:
            if row.outcome != SENDING:
                report.problem(
                    "disclosure_log",
                    row.id,
                    seq,
                    f"outcome is {row.outcome!r} but disclosure {ref} was never settled in the "
                    f"chain",
                )
        return
    settled = settled_outcomes(json.loads(latest.detail))
    for row in rows:
        outcome = settled.pop(row.id, None)
        if outcome is None:
            report.problem(
                "disclosure_log",
                row.id,
                latest.seq,
                f"not in the settlement of disclosure {ref}: inserted",
            )
        elif outcome != row.outcome:
            report.problem(
                "disclosure_log",
                row.id,
                latest.seq,
                f"outcome is {row.outcome!r} but was settled as {outcome!r} (disclosure {ref})",
            )
    for row_id in sorted(settled):
        report.problem(
            "disclosure_log",
            row_id,
            latest.seq,
            f"settled with disclosure {ref} but missing: deleted",
        )
