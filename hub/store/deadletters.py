"""Dead letters: every record that failed, with its reason, the step where it failed and
(for extract failures) its native payload, encrypted, so that nothing is lost and it can be
fixed and replayed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from hub.privacy import Keyring, redact
from hub.store import schema as t
from hub.store.deadletter_filter import OPEN, REPLAYED, RESOLVED, DeadLetterFilter
from hub.store.records import now

__all__ = [
    "OPEN",
    "REPLAYED",
    "RESOLVED",
    "DeadLetterFilter",
    "Failure",
    "add",
    "count_letters",
    "facets",
    "get",
    "list_letters",
    "open_count",
    "payload_of",
    "resolve_for",
    "set_status",
]


@dataclass(frozen=True)
class Failure:
    """A record that failed at ``stage`` (read, translate, validate, deliver)."""

    stage: str
    system: str
    stream: str
    error_class: str
    reason: str
    entity: str | None = None
    native_ref: str | None = None
    record_id: str | None = None
    field: str | None = None
    payload: Any = None  # native data (JSON-able), encrypted when stored


def add(
    conn: Connection, keys: Keyring, exchange: str, run_id: str | None, failures: Sequence[Failure]
) -> None:
    if not failures:
        return
    stamp = now()
    rows = []
    for f in failures:
        blob = None
        if f.payload is not None:
            blob = keys.encrypt(
                # ASCII JSON: a payload may hold text UTF-8 cannot (a lone surrogate from
                # a source's JSON), and the dead letter must keep it all the same
                json.dumps(f.payload, ensure_ascii=True, default=str).encode(),
                context=b"dead-letter",
            )
        rows.append(
            {
                "exchange": exchange,
                "run_id": run_id,
                "stage": f.stage,
                "system": f.system,
                "stream": f.stream,
                "entity": f.entity,
                "native_ref": redact(f.native_ref) if f.native_ref else None,
                "record_id": f.record_id,
                "error_class": f.error_class,
                "field": f.field,
                "reason": redact(f.reason)[:4000],
                "payload": blob,
                "status": OPEN,
                "note": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    # a record that failed again replaces its earlier open letter, so counts stay honest
    refs = [r["native_ref"] for r in rows if r["native_ref"]]
    if refs:
        conn.execute(
            update(t.dead_letters)
            .where(
                t.dead_letters.c.exchange == exchange,
                t.dead_letters.c.native_ref.in_(refs),
                t.dead_letters.c.status == OPEN,
            )
            .values(status=RESOLVED, note="superseded by a later failure", updated_at=stamp)
        )
    conn.execute(t.dead_letters.insert(), rows)


def resolve_for(
    conn: Connection,
    exchange: str,
    native_refs: Sequence[str] | Callable[[], Sequence[str]],
    note: str,
) -> None:
    """Close open letters of records that have now gone through (e.g. fixed at the source).
    ``native_refs`` may be a function giving them, called only if a letter is open."""
    any_open = conn.execute(
        select(t.dead_letters.c.id)
        .where(t.dead_letters.c.status == OPEN, t.dead_letters.c.exchange == exchange)
        .limit(1)
    ).first()
    if any_open is None:  # the common case: nothing of this exchange is waiting
        return
    refs, stamp = list(native_refs() if callable(native_refs) else native_refs), now()
    for i in range(0, len(refs), 500):
        conn.execute(
            update(t.dead_letters)
            .where(
                t.dead_letters.c.exchange == exchange,
                t.dead_letters.c.native_ref.in_(refs[i : i + 500]),
                t.dead_letters.c.status == OPEN,
            )
            .values(status=RESOLVED, note=note, updated_at=stamp)
        )


def get(conn: Connection, letter_id: int):
    return conn.execute(select(t.dead_letters).where(t.dead_letters.c.id == letter_id)).first()


def payload_of(keys: Keyring, row) -> Any:
    if row.payload is None:
        return None
    return json.loads(keys.decrypt(row.payload, context=b"dead-letter"))


def list_letters(
    conn: Connection,
    where: DeadLetterFilter | None = None,
    *,
    before_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    **criteria: Any,
):
    """Dead letters matching ``where`` (default: the open ones), newest first. Criteria
    given as keywords (``exchange="x"``, ``stage="deliver"``) refine ``where``. Page with
    ``before_id`` (the last id of the previous page): keyset paging stays fast however many
    there are."""
    q = select(t.dead_letters).order_by(t.dead_letters.c.id.desc()).limit(limit).offset(offset)
    if before_id is not None:
        q = q.where(t.dead_letters.c.id < before_id)
    return list(conn.execute(DeadLetterFilter.of(where, **criteria).apply(q)))


def count_letters(conn: Connection, where: DeadLetterFilter | None = None, **criteria: Any) -> int:
    """How many dead letters match ``where`` (default: the open ones), refined by keywords
    as :func:`list_letters`."""
    q = select(func.count()).select_from(t.dead_letters)
    return conn.execute(DeadLetterFilter.of(where, **criteria).apply(q)).scalar_one()


def facets(conn: Connection) -> dict[str, list[str]]:
    """The values the filters can take (exchanges, systems, error classes in the table)."""
    c = t.dead_letters.c
    return {
        name: list(conn.execute(select(col).distinct().order_by(col)).scalars())
        for name, col in (
            ("exchange", c.exchange),
            ("system", c.system),
            ("error_class", c.error_class),
        )
    }


def set_status(conn: Connection, letter_id: int, status: str, note: str | None = None) -> None:
    conn.execute(
        update(t.dead_letters)
        .where(t.dead_letters.c.id == letter_id)
        .values(status=status, note=note, updated_at=now())
    )


def open_count(conn: Connection, exchange: str | None = None) -> int:
    return count_letters(conn, DeadLetterFilter(exchange=exchange))
