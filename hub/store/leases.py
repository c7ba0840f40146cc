"""Leases on exchanges: who runs an exchange now, and the fencing token of their lease.

Every step is one atomic statement, so it means the same on SQLite and on PostgreSQL
whatever other sessions do meanwhile:

- :func:`acquire`: the row is created if missing (``INSERT ... ON CONFLICT DO NOTHING``),
  then taken over by a conditional ``UPDATE`` that succeeds only if the lease is free,
  expired, or held by a process of this machine that no longer exists; the token grows by
  one at each acquisition;
- :func:`fence`: inside a holder's transaction, renew the lease *if the token is still
  ours*. It writes the lease row, so on PostgreSQL a competing acquisition waits for the
  holder's commit, and on SQLite the store's single writer does the same: a holder that lost
  its lease can commit nothing more (its transaction is rolled back with :class:`LeaseLost`);
- :func:`release`: free it, again only with our token.

The lease currently held by this thread of execution is in a context variable
(:mod:`hub.store.fencing`), so that the store fences every transaction made under it
(:meth:`hub.store.Store.transaction`).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from dataclasses import dataclass

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.errors import HubError, TransientError
from hub.store import fencing
from hub.store import schema as t
from hub.store.records import now

HOST = socket.gethostname()[:255]


class ExchangeBusy(TransientError):
    """Another run holds the exchange's lease: this run did not start (try again later)."""


class LeaseLost(HubError):
    """The lease expired and another run took the exchange over: this holder stops, and the
    transaction in which this was found is rolled back."""


@dataclass(frozen=True)
class Lease:
    exchange: str
    token: int
    holder: str
    ttl: float
    #: the store the lease lives in (a process may open several)
    store_url: str

    def fence(self, conn: Connection) -> None:
        """Check and renew this lease in ``conn``'s transaction (:func:`fence`)."""
        fence(conn, self)


#: when each lease held by this process was last renewed (time.monotonic()), so the
#: renewing thread writes only when the holder's own commits have not renewed it lately
_RENEWED: dict[tuple[str, int], float] = {}


def held() -> Lease | None:
    """The lease this thread of execution runs under (None: none)."""
    return fencing.held()


@dataclass(frozen=True)
class Holder:
    """Who holds an exchange now (for the message a second run ends with)."""

    holder: str | None
    run_id: str | None
    since: dt.datetime | None
    expires_at: dt.datetime | None
    host: str | None
    pid: int | None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite gives naive UTC back
        return value.replace(tzinfo=dt.UTC)
    return value


def _ensure_row(conn: Connection, exchange: str) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(t.exchange_leases)
        .values(exchange=exchange, token=0)
        .on_conflict_do_nothing(index_elements=["exchange"])
    )


def _dead_here(conn: Connection, exchange: str) -> int | None:
    """The process id of the lease's holder when it is a process of this machine that no
    longer exists, or this process and no holder in it has the lease any more (it let go
    but could not release it: a locked store); its lease need not be waited out. Else
    None."""
    c = t.exchange_leases.c
    row = conn.execute(select(c.host, c.pid, c.token).where(c.exchange == exchange)).first()
    if row is None or row.host != HOST or not row.pid:
        return None
    if row.pid == os.getpid():  # this process's: stale unless a holder here still has it
        return None if (exchange, row.token) in _RENEWED else row.pid
    return row.pid if _ended(row.pid) else None


def _ended(pid: int) -> bool:
    """Whether process ``pid`` of this machine has ended (someone else's is alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has ended but not been reaped by its parent yet holds nothing."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def acquire(
    conn: Connection, exchange: str, holder: str, ttl: float, store_url: str
) -> Lease | None:
    """Take the lease of ``exchange`` for ``ttl`` seconds; None when someone else holds it.
    Commit the transaction for the lease to count."""
    _ensure_row(conn, exchange)
    stamp = now()
    c = t.exchange_leases.c
    free = or_(c.holder.is_(None), c.expires_at.is_(None), c.expires_at < stamp)
    dead = _dead_here(conn, exchange)
    if dead is not None:  # still that process's, not one that took over meanwhile
        free = or_(free, (c.host == HOST) & (c.pid == dead))
    taken = conn.execute(
        update(t.exchange_leases)
        .where(c.exchange == exchange, free)
        .values(
            token=c.token + 1,
            holder=holder[:300],
            run_id=None,
            host=HOST,
            pid=os.getpid(),
            acquired_at=stamp,
            expires_at=stamp + dt.timedelta(seconds=ttl),
        )
    )
    if taken.rowcount != 1:
        return None
    token = conn.execute(select(c.token).where(c.exchange == exchange)).scalar_one()
    _RENEWED[(exchange, token)] = time.monotonic()
    return Lease(exchange, token, holder, ttl, str(conn.engine.url))


def holder_of(conn: Connection, exchange: str) -> Holder | None:
    row = conn.execute(
        select(t.exchange_leases).where(t.exchange_leases.c.exchange == exchange)
    ).first()
    if row is None or row.holder is None:
        return None
    return Holder(
        row.holder, row.run_id, _aware(row.acquired_at), _aware(row.expires_at), row.host, row.pid
    )


def live(who: Holder) -> bool:
    """Whether ``who`` plainly still holds its lease: unexpired, and not a process of this
    machine that has ended (:func:`acquire` decides; this only spares it a write)."""
    if who.expires_at is None or who.expires_at <= now():
        return False
    if who.host != HOST or not who.pid:
        return True
    # this process's own lease is left to acquire(), which knows whether a holder has it
    return who.pid != os.getpid() and not _ended(who.pid)


def fence(conn: Connection, lease: Lease, *, run_id: str | None = None) -> None:
    """Renew ``lease`` in this transaction if it is still ours; else :class:`LeaseLost`."""
    c = t.exchange_leases.c
    values: dict = {"expires_at": now() + dt.timedelta(seconds=lease.ttl)}
    if run_id is not None:
        values["run_id"] = run_id
    renewed = conn.execute(
        update(t.exchange_leases)
        .where(c.exchange == lease.exchange, c.token == lease.token)
        .values(**values)
    )
    if renewed.rowcount == 1:
        _RENEWED[(lease.exchange, lease.token)] = time.monotonic()
    else:
        raise LeaseLost(
            f"{lease.exchange}: this run's lease (token {lease.token}) expired and another "
            "run took the exchange over; nothing more of this run is committed"
        )


def renewed_ago(lease: Lease) -> float:
    """Seconds since this process last renewed ``lease`` (infinite: never)."""
    at = _RENEWED.get((lease.exchange, lease.token))
    return float("inf") if at is None else time.monotonic() - at


def forget(lease: Lease) -> None:
    """This process no longer holds ``lease`` (before :func:`release`, which may fail)."""
    _RENEWED.pop((lease.exchange, lease.token), None)


def release(conn: Connection, lease: Lease) -> bool:
    """Free ``lease`` if it is still ours (True), so the next run need not wait."""
    forget(lease)
    c = t.exchange_leases.c
    done = conn.execute(
        update(t.exchange_leases)
        .where(c.exchange == lease.exchange, c.token == lease.token)
        .values(holder=None, run_id=None, host=None, pid=None, expires_at=None)
    )
    return done.rowcount == 1
