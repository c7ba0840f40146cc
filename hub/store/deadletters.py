"""Dead letters: every record that failed, with its reason, the step where it failed and
(for extract failures) its native payload, encrypted, so that nothing is lost and it can be
fixed and replayed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from hub.privacy import Keyring, redact
from hub.store import schema as t
from hub.store.deadletter_filter import (
    OPEN,
    REPLAYED,
    RESOLVED,
    SUPERSEDED,
    DeadLetterFilter,
)
from hub.store.records import now

__all__ = [
    "OPEN",
    "REPLAYED",
    "RESOLVED",
    "SUPERSEDED",
    "DeadLetterFilter",
    "Failure",
    "add",
    "count_letters",
    "facets",
    "get",
    "last_id",
    "latest_successor",
    "list_letters",
    "open_count",
    "payload_of",
    "resolve_for",
    "set_status",
    "supersede_replayed",
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
    # a record that failed again replaces its earlier open letter, so counts stay honest;
    # the earlier one is superseded, not resolved, and names the letter to act on now
    refs = sorted({r["native_ref"] for r in rows if r["native_ref"]})
    earlier = _letters_of(conn, exchange, refs, OPEN)
    conn.execute(t.dead_letters.insert(), rows)
    if earlier:
        newest = {ref: i for i, ref in sorted(_letters_of(conn, exchange, refs, OPEN).items())}
        _supersede(conn, {old: newest[ref] for old, ref in earlier.items()}, stamp)


def _letters_of(conn: Connection, exchange: str, refs: Sequence[str], status: str):
    """The letters (id: native ref) of these records in ``status``, read in chunks (bind
    parameters have limits)."""
    c, found = t.dead_letters.c, {}
    for i in range(0, len(refs), 500):
        q = select(c.id, c.native_ref).where(
            c.exchange == exchange, c.native_ref.in_(refs[i : i + 500]), c.status == status
        )
        found.update((i, ref) for i, ref in conn.execute(q))
    return found


def _supersede(conn: Connection, successors: dict[int, int], stamp) -> None:
    """Mark letters (old id: new id) superseded by the later letters of their records."""
    if not successors:
        return
    c = t.dead_letters.c
    conn.execute(
        update(t.dead_letters)
        .where(c.id == bindparam("old"))
        .values(
            status=SUPERSEDED,
            successor_id=bindparam("new"),
            note="superseded by a later failure",
            updated_at=stamp,
        ),
        [{"old": old, "new": new} for old, new in successors.items()],
    )


def last_id(conn: Connection) -> int:
    """The newest letter's id (0 when there is none): letters after it are newer."""
    return conn.execute(select(func.max(t.dead_letters.c.id))).scalar() or 0


def supersede_replayed(conn: Connection, letter_ids: Sequence[int], after_id: int) -> None:
    """Letters replayed (``letter_ids``) whose records failed again in letters newer than
    ``after_id`` (a replay's own delivery, say) are superseded by those letters: the replay
    did not work, and the later letter is the one to act on."""
    c = t.dead_letters.c
    replayed = conn.execute(
        select(c.id, c.exchange, c.native_ref).where(
            c.id.in_(list(letter_ids)), c.status == REPLAYED, c.native_ref.isnot(None)
        )
    ).all()
    found: dict[int, int] = {}
    for exchange in {r.exchange for r in replayed}:
        mine = [r for r in replayed if r.exchange == exchange]
        newer: dict[str, int] = {}
        for i, ref in sorted(
            _letters_of(conn, exchange, sorted({r.native_ref for r in mine}), OPEN).items()
        ):
            if i > after_id:
                newer.setdefault(ref, i)
        found.update({r.id: newer[r.native_ref] for r in mine if r.native_ref in newer})
    _supersede(conn, found, now())


def latest_successor(conn: Connection, letter_id: int) -> int | None:
    """The letter at the end of this letter's chain of successors (the one to act on), or
    ``None`` if it was not superseded."""
    seen: list[int] = []
    current = letter_id
    while len(seen) < 10_000:  # a chain is short; the bound only guards against a loop
        nxt = conn.execute(
            select(t.dead_letters.c.successor_id).where(t.dead_letters.c.id == current)
        ).scalar()
        if nxt is None or nxt in seen:
            break
        seen.append(nxt)
        current = nxt
    return seen[-1] if seen else None


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
