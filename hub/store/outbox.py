"""The outbox: what each exchange still has to deliver, one row per (exchange, record).

A new record version is queued for every exchange that reads its entity from the system the
version came from. The row holds the latest version wanted at the target; a row already
delivered goes back to pending when a newer version arrives. The idempotency key names the
exchange, the record and the version, so a retried or replayed delivery is recognised by the
target as the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ARRAY, Connection, Integer, any_, bindparam, func, select, update

from hub.privacy import redact
from hub.store import schema as t
from hub.store.bulk import PLUS_ONE, RowUpdate, insert_rows, update_rows
from hub.store.records import now

PENDING, DELIVERED, SKIPPED, DEAD = "pending", "delivered", "skipped", "dead"
#: held back: the exchange's legal basis does not cover the record (hub.disclosure); it is
#: screened again when the record, or a decision or prohibition about its person, changes
HELD = "held"
#: claimed by the run delivering the exchange: its disclosure is being logged or sent. Set
#: back to pending by the exchange's next run (which holds the lease, so the claimer is gone)
SENDING = "sending"
#: the encryption context of an operator's correction
CORRECTION_CONTEXT = b"outbox-correction"
_IN_CHUNK = 500  # bound the size of IN (...) lists


def idempotency_key(exchange: str, record_id: str, version: int) -> str:
    return f"{exchange}:{record_id}:v{version}"


_COLUMNS = (
    "exchange",
    "record_id",
    "entity",
    "version",
    "content_hash",
    "idempotency_key",
    "status",
    "attempts",
    "last_error",
    "enqueued_at",
    "updated_at",
)


#: a row queued again for a newer version: the insert's columns but the key and the entity
#: (rows: exchange, record id, then those columns)
_REQUEUE = RowUpdate(
    t.outbox,
    ("exchange", "record_id"),
    tuple(c for c in _COLUMNS if c not in ("exchange", "record_id", "entity")),
    fixed=(("correction", None),),
)


def enqueue(
    conn: Connection,
    exchanges: Iterable[str],
    changed: Sequence[tuple[str, str, int, str]],
    *,
    fresh: bool = False,
) -> int:
    """Queue ``changed`` (record id, entity, version, hash) for each exchange. Returns rows.
    ``fresh``: the records were inserted in this transaction, so none is queued yet."""
    exchanges = list(exchanges)
    if not changed or not exchanges:
        return 0
    stamp = now()
    count = 0
    for exchange in exchanges:
        existing: dict[str, tuple[int, str]] = {}
        if not fresh:
            ids = [c[0] for c in changed]
            for i in range(0, len(ids), _IN_CHUNK):
                rows = conn.execute(
                    select(t.outbox.c.record_id, t.outbox.c.version, t.outbox.c.status).where(
                        t.outbox.c.exchange == exchange,
                        t.outbox.c.record_id.in_(ids[i : i + _IN_CHUNK]),
                    )
                )
                existing.update({rid: (version, status) for rid, version, status in rows})
        inserts, updates = [], []
        for rid, entity, version, digest in changed:
            key = idempotency_key(exchange, rid, version)
            found = existing.get(rid)
            if found is None:
                inserts.append(
                    (exchange, rid, entity, version, digest, key, PENDING, 0, None, stamp, stamp)
                )
            elif found[0] != version or found[1] not in (PENDING, SENDING):
                # a new version: an operator's choice for the old one is void (_REQUEUE)
                updates.append(
                    (exchange, rid, version, digest, key, PENDING, 0, None, stamp, stamp)
                )
        insert_rows(conn, t.outbox, inserts, _COLUMNS)
        update_rows(conn, _REQUEUE, updates)
        count += len(inserts) + len(updates)
    return count


@dataclass(frozen=True)
class OutboxItem:
    id: int
    record_id: str
    entity: str
    version: int
    idempotency_key: str
    attempts: int
    #: an operator's choice (encrypted), applied before the record is screened again
    correction: bytes | None = None


def next_pending(
    conn: Connection, exchange: str, entity: str, limit: int, after_id: int = 0
) -> list[OutboxItem]:
    rows = conn.execute(
        select(
            t.outbox.c.id,
            t.outbox.c.record_id,
            t.outbox.c.entity,
            t.outbox.c.version,
            t.outbox.c.idempotency_key,
            t.outbox.c.attempts,
            t.outbox.c.correction,
        )
        .where(
            t.outbox.c.exchange == exchange,
            t.outbox.c.entity == entity,
            t.outbox.c.status == PENDING,
            t.outbox.c.id > after_id,
        )
        .order_by(t.outbox.c.id)
        .limit(limit)
    )
    return [OutboxItem(*row) for row in rows]


def claim(conn: Connection, items: Sequence[OutboxItem]) -> set[int]:
    """Claim ``items`` for sending: each row still pending at the version read becomes
    :data:`SENDING`; the ids claimed. A row another session holds is skipped, not waited for
    (PostgreSQL ``FOR UPDATE SKIP LOCKED``); a row whose record got a newer version since it
    was read is left pending (the newer version goes in a later batch)."""
    o = t.outbox
    version_read = {i.id: i.version for i in items}
    ids = list(version_read)
    claimed: set[int] = set()
    stamp = now()
    postgresql = conn.dialect.name == "postgresql"
    # PostgreSQL: the whole batch in one statement, its ids as one array
    size = max(len(ids), 1) if postgresql else _IN_CHUNK
    for i in range(0, len(ids), size):
        chunk = ids[i : i + size]
        if postgresql:
            wanted = o.c.id == any_(bindparam("ids", chunk, type_=ARRAY(Integer)))
        else:
            wanted = o.c.id.in_(chunk)
        pending = select(o.c.id).where(wanted, o.c.status == PENDING)
        if postgresql:
            pending = pending.with_for_update(skip_locked=True)
        rows = conn.execute(
            update(o)
            .where(o.c.id.in_(pending))
            .values(status=SENDING, updated_at=stamp)
            .returning(o.c.id, o.c.version)
        ).all()
        newer = [oid for oid, version in rows if version != version_read[oid]]
        if newer:
            conn.execute(update(o).where(o.c.id.in_(newer)).values(status=PENDING))
        claimed.update(oid for oid, version in rows if version == version_read[oid])
    return claimed


def unclaim_all(conn: Connection, exchange: str) -> int:
    """Put every row of ``exchange`` left claimed back to pending: called by the run holding
    the exchange's lease, so whoever claimed them has ended (killed, or lost its lease)."""
    return conn.execute(
        update(t.outbox)
        .where(t.outbox.c.exchange == exchange, t.outbox.c.status == SENDING)
        .values(status=PENDING, updated_at=now())
    ).rowcount


def mark(
    conn: Connection,
    items: Sequence[tuple[int, str, str | None]],
    *,
    bump_attempts: bool = True,
    claimed: bool = False,
) -> None:
    """Set (outbox id, status, last error) for each item; errors are stored redacted.
    ``claimed``: settle rows this run claimed (:func:`claim`) and only those still claimed;
    a row a newer version has been queued on since is left pending for it."""
    if not items:
        return
    spec = RowUpdate(
        t.outbox,
        ("id",),
        ("status", "last_error"),
        fixed=((("attempts", PLUS_ONE),) if bump_attempts else ()) + (("updated_at", now()),),
        only=(("status", SENDING),) if claimed else (),
    )
    update_rows(
        conn,
        spec,
        [(oid, status, redact(err)[:4000] if err else None) for oid, status, err in items],
    )


def requeue(conn: Connection, exchange: str, record_ids: Sequence[str]) -> int:
    """Put dead rows back to pending, same version and key (replay after a fix)."""
    result = conn.execute(
        update(t.outbox)
        .where(
            t.outbox.c.exchange == exchange,
            t.outbox.c.record_id.in_(record_ids),
            t.outbox.c.status == DEAD,
        )
        .values(status=PENDING, attempts=0, last_error=None, updated_at=now())
    )
    return result.rowcount


def set_correction(conn: Connection, exchange: str, record_id: str, blob: bytes) -> int:
    """Keep an operator's (encrypted) choice for the record's current version and queue it
    again (it was dead: waiting for the choice)."""
    result = conn.execute(
        update(t.outbox)
        .where(
            t.outbox.c.exchange == exchange,
            t.outbox.c.record_id == record_id,
            t.outbox.c.status == DEAD,
        )
        .values(status=PENDING, attempts=0, last_error=None, correction=blob, updated_at=now())
    )
    return result.rowcount


def reopen_held(conn: Connection, exchange: str, entity: str, context: Sequence[str]) -> int:
    """Queue again the held rows of ``exchange`` whose person has a record of a ``context``
    entity (a decision, a prohibition) changed since the row was held: the verdict may be
    different now."""
    o, r, c = t.outbox, t.records.alias("held_record"), t.records.alias("context")
    changed = (
        select(o.c.id)
        .join(r, r.c.id == o.c.record_id)
        .join(c, c.c.subject_id == r.c.subject_id)
        .where(
            o.c.exchange == exchange,
            o.c.entity == entity,
            o.c.status == HELD,
            c.c.entity.in_(list(context)),
            c.c.updated_at > o.c.updated_at,
        )
    )
    result = conn.execute(
        update(o)
        .where(o.c.id.in_(changed))
        .values(status=PENDING, last_error=None, updated_at=now())
    )
    return result.rowcount


def counts(conn: Connection, exchange: str) -> dict[str, int]:
    rows = conn.execute(
        select(t.outbox.c.status, func.count())
        .where(t.outbox.c.exchange == exchange)
        .group_by(t.outbox.c.status)
    )
    return {status: n for status, n in rows}
