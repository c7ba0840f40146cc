"""The held-back log: every record, and every part of a record, that an exchange's legal basis
did not cover (:mod:`hub.disclosure`), with the rule and its reason. Nothing held back is
sent, and nothing is dropped without a row here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, case, func, select

from hub.privacy import redact
from hub.store import schema as t
from hub.store.bulk import insert_rows
from hub.store.records import now


@dataclass(frozen=True)
class Hold:
    record_id: str
    version: int
    subject_id: int | None
    rule: str
    reason: str
    #: the field whose items were held back; None: the whole record
    part: str | None = None
    count: int = 1


@dataclass(frozen=True)
class RuleSummary:
    """What one rule held back: whole records, records with parts held, the items of those
    parts, and the latest reason given."""

    exchange: str
    rule: str
    records: int
    parts: int
    items: int
    reason: str


def add(conn: Connection, exchange: str, run_id: str | None, holds: Sequence[Hold]) -> None:
    stamp = now()
    insert_rows(
        conn,
        t.held_back,
        [
            (
                stamp,
                exchange,
                run_id,
                h.record_id,
                h.version,
                h.subject_id,
                h.rule,
                h.part,
                h.count,
                redact(h.reason)[:4000],
            )
            for h in holds
        ],
        (
            "at",
            "exchange",
            "run_id",
            "record_id",
            "version",
            "subject_id",
            "rule",
            "part",
            "count",
            "reason",
        ),
    )


def summary(
    conn: Connection, *, exchange: str | None = None, run_id: str | None = None
) -> list[RuleSummary]:
    """What was held back, per exchange and rule: in one run, or ever in one exchange."""
    h = t.held_back.c
    whole = h.part.is_(None)
    query = select(
        h.exchange,
        h.rule,
        func.sum(case((whole, 1), else_=0)),
        func.sum(case((whole, 0), else_=1)),
        func.sum(case((whole, 0), else_=h.count)),
        func.max(h.id),
    ).group_by(h.exchange, h.rule)
    if exchange is not None:
        query = query.where(h.exchange == exchange)
    if run_id is not None:
        query = query.where(h.run_id == run_id)
    rows = conn.execute(query.order_by(h.exchange, h.rule)).all()
    reasons = (
        dict(conn.execute(select(h.id, h.reason).where(h.id.in_([r[5] for r in rows]))).all())
        if rows
        else {}
    )
    return [
        RuleSummary(x, rule, int(recs), int(parts), int(items), reasons[last])
        for x, rule, recs, parts, items, last in rows
    ]
