"""Which alerts were sent: one row per alert condition while it holds (``alert_state``).

Every worker's ``hub_health`` evaluates the same conditions from the same store, so the
right to send an occurrence is *claimed*, atomically, by one of them. Each claim is one
statement whose outcome does not depend on what another session read, the same on SQLite
and on PostgreSQL (as :mod:`hub.store.leases`):

- a new condition: ``INSERT ... ON CONFLICT DO NOTHING`` on the primary key. Of two
  sessions inserting the same key one inserts; the other (on PostgreSQL it waits for the
  first's commit) inserts nothing;
- a new occurrence of a held condition (another failed run): ``UPDATE ... WHERE
  fingerprint = <the one read>``, a compare-and-set. On PostgreSQL the second writer waits
  for the first's commit and then finds the fingerprint changed (READ COMMITTED re-reads the
  row); on SQLite the store has one writer at a time.

A claim whose every channel then failed is given back (:func:`unclaim`), so the next check
tries again; a cleared condition's row is removed (:func:`forget_cleared`), so it alerts
again when it comes back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.store import schema as t
from hub.store.records import now

_c = t.alert_state.c


@dataclass(frozen=True)
class Claim:
    """The right to send one occurrence: what to restore if it cannot be sent."""

    key: str
    fingerprint: str
    #: the occurrence sent before this one (None: the condition is new)
    previous: str | None


def claim(conn: Connection, key: str, fingerprint: str) -> Claim | None:
    """Claim the occurrence ``fingerprint`` of condition ``key``; None when it was sent
    already (by this process or another). Commit for the claim to count."""
    stamp = now()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    inserted = conn.execute(  # RETURNING: psycopg reports no rowcount for this statement
        insert(t.alert_state)
        .values(key=key, fingerprint=fingerprint, first_sent_at=stamp, last_sent_at=stamp)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_c.key)
    ).first()
    if inserted is not None:
        return Claim(key, fingerprint, None)
    previous = conn.execute(select(_c.fingerprint).where(_c.key == key)).scalar()
    if previous is None or previous == fingerprint:
        return None  # sent already (or cleared meanwhile: the next check sees it anew)
    changed = conn.execute(
        update(t.alert_state)
        .where(_c.key == key, _c.fingerprint == previous)
        .values(fingerprint=fingerprint, last_sent_at=stamp)
    )
    return Claim(key, fingerprint, previous) if changed.rowcount == 1 else None


def unclaim(conn: Connection, c: Claim) -> None:
    """Give ``c`` back (it could not be sent): the next check claims it again."""
    mine = (_c.key == c.key) & (_c.fingerprint == c.fingerprint)
    if c.previous is None:
        conn.execute(delete(t.alert_state).where(mine))
    else:
        conn.execute(update(t.alert_state).where(mine).values(fingerprint=c.previous))


def forget_cleared(conn: Connection, current: set[str], evaluated_at: dt.datetime) -> int:
    """Remove the conditions not in ``current`` (they cleared), but those claimed after
    ``evaluated_at`` (another worker saw them hold later than this one looked)."""
    gone = delete(t.alert_state).where(_c.last_sent_at < evaluated_at)
    if current:
        gone = gone.where(_c.key.not_in(sorted(current)))
    return conn.execute(gone).rowcount


def import_sent(conn: Connection, sent: dict[str, str], at: dt.datetime) -> int:
    """Take over what an earlier release remembered in a file (key → occurrence), unless the
    store knows the condition already; the rows added."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    added = 0
    for key, fingerprint in sent.items():
        row = conn.execute(
            insert(t.alert_state)
            .values(key=key[:200], fingerprint=fingerprint[:300], first_sent_at=at, last_sent_at=at)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(_c.key)
        ).first()
        added += row is not None
    return added


def sent(conn: Connection) -> dict[str, str]:
    """The occurrence last sent of every condition that holds (key → fingerprint)."""
    return {key: fingerprint for key, fingerprint in conn.execute(select(_c.key, _c.fingerprint))}
