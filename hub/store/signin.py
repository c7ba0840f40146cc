"""Dashboard sign-in in the store, shared by every dashboard process: failed attempts and
the locks they lead to, and the sessions a sign-in opens.

**Failures.** One row per user name and one per client address (``kind`` ``user`` or
``address``), keyed by a keyed pseudonym (:func:`throttle_key`): a password typed into the
name field is never stored. ``limit`` failures within ``window`` lock the row for
``lockout``, doubled for each further lock in a row (up to :data:`MAX_DOUBLINGS` times);
a name that no user has locks alike. A sign-in that succeeds forgets its user name's row.

**Sessions.** The cookie carries a random token; the store keeps its SHA-256 (``id``), so a
copy of the table opens no session. A session ends when revoked (signing out, a changed
password, a disabled user), ``lifetime`` after it began however active it is, or ``idle``
after its last request. Ended rows are deleted whenever someone signs in.

Every function takes ``now`` (a timezone-aware UTC time): the caller's clock decides.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.privacy import Keyring
from hub.store import schema as t

USER, ADDRESS = "user", "address"
#: a lock lasts at most 2**MAX_DOUBLINGS times the configured lockout
MAX_DOUBLINGS = 4
#: ``last_seen_at`` is written at most this often (not on every page)
TOUCH_EVERY = dt.timedelta(seconds=60)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite gives naive UTC back
        return value.replace(tzinfo=dt.UTC)
    return value


# --- failures and locks --------------------------------------------------------------------


def throttle_key(keys: Keyring, kind: str, value: str) -> bytes:
    """The row key of a user name or an address: a keyed pseudonym, nothing reverses it."""
    if kind not in (USER, ADDRESS):
        raise ValueError(f"kind must be {USER!r} or {ADDRESS!r}, not {kind!r}")
    if kind == ADDRESS:
        try:  # one form per address (``::1`` and ``0:0::1`` are one client)
            value = str(ipaddress.ip_address(value))
        except ValueError:
            pass
    return keys.pseudonym_bytes(value, scope=f"signin-{kind}")


def locked_until(conn: Connection, keys: list[tuple[str, bytes]], now: dt.datetime):
    """The latest time until which any of ``keys`` (``(kind, key)`` pairs) is locked, or
    None when none is locked at ``now``."""
    f = t.signin_failures
    wanted = or_(*(and_(f.c.kind == kind, f.c.key == key) for kind, key in keys))
    ends = [_aware(u) for u in conn.execute(select(f.c.locked_until).where(wanted)).scalars()]
    ends = [u for u in ends if u is not None and u > now]
    return max(ends, default=None)


def record_failure(
    conn: Connection,
    kind: str,
    key: bytes,
    now: dt.datetime,
    *,
    limit: int,
    window: float,
    lockout: float,
) -> dt.datetime | None:
    """Count one failed sign-in for ``key``. Returns the end of the lock this failure starts
    (the ``limit``-th within ``window`` seconds), else None. The row is locked while it is
    counted, so processes counting at once do not lose a failure."""
    f = t.signin_failures
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(f)
        .values(kind=kind, key=key, failures=0, window_start=now, lockouts=0)
        .on_conflict_do_nothing(index_elements=["kind", "key"])
    )
    here = and_(f.c.kind == kind, f.c.key == key)
    row = conn.execute(select(f).where(here).with_for_update()).one()
    failures, start = row.failures, _aware(row.window_start)
    if now - start > dt.timedelta(seconds=window):  # a new window
        failures, start = 0, now
    lockouts, until = row.lockouts, None
    last_lock = _aware(row.locked_until)
    if lockouts and last_lock is not None and now - last_lock > dt.timedelta(seconds=window):
        lockouts = 0  # the last lock ended long ago: no longer "in a row"
    failures += 1
    if failures >= limit:
        until = now + dt.timedelta(seconds=lockout * 2 ** min(lockouts, MAX_DOUBLINGS))
        failures, start, lockouts = 0, now, lockouts + 1
    values = {"failures": failures, "window_start": start, "lockouts": lockouts}
    if until is not None:
        values["locked_until"] = until
    conn.execute(update(f).where(here).values(**values))
    return until


def forget(conn: Connection, kind: str, key: bytes) -> bool:
    """Forget the failures and any lock of ``key`` (a sign-in that succeeded, or ``hub users
    unlock``). True when there was something to forget."""
    f = t.signin_failures
    return conn.execute(delete(f).where(f.c.kind == kind, f.c.key == key)).rowcount > 0


def forget_stale(conn: Connection, now: dt.datetime, window: float) -> int:
    """Delete the rows that no longer count: no lock in force and no failure within
    ``window``."""
    f = t.signin_failures
    stale = now - dt.timedelta(seconds=window)
    return conn.execute(
        delete(f).where(
            f.c.window_start < stale, or_(f.c.locked_until.is_(None), f.c.locked_until < stale)
        )
    ).rowcount


# --- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSession:
    """A live session as the store keeps it (the cookie's token is not kept)."""

    username: str
    csrf: str
    created_at: dt.datetime
    last_seen_at: dt.datetime


def session_id(token: str) -> str:
    """The store's id of the session whose cookie carries ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    conn: Connection, username: str, now: dt.datetime, *, lifetime: float, idle: float
) -> tuple[str, str]:
    """A new session for ``username`` (a new token every time: no fixation); returns the
    token for the cookie and the session's CSRF token. Ended sessions are deleted first."""
    purge_sessions(conn, now, lifetime=lifetime, idle=idle)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        t.sessions.insert().values(
            id=session_id(token), username=username, csrf=csrf, created_at=now, last_seen_at=now
        )
    )
    return token, csrf


def find_session(
    conn: Connection, token: str, now: dt.datetime, *, lifetime: float, idle: float
) -> StoredSession | None:
    """The live session of ``token``, its ``last_seen_at`` moved to ``now`` (at most every
    :data:`TOUCH_EVERY`); None when there is none, or it was revoked or has expired."""
    s = t.sessions
    row = conn.execute(select(s).where(s.c.id == session_id(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    created, seen = _aware(row.created_at), _aware(row.last_seen_at)
    if now >= created + dt.timedelta(seconds=lifetime) or now >= seen + dt.timedelta(seconds=idle):
        return None
    if now - seen >= TOUCH_EVERY:
        conn.execute(update(s).where(s.c.id == row.id).values(last_seen_at=now))
        seen = now
    return StoredSession(row.username, row.csrf, created, seen)


def revoke_session(conn: Connection, token: str, now: dt.datetime) -> bool:
    """End the session of ``token`` (signing out). True when it was live."""
    s = t.sessions
    done = conn.execute(
        update(s)
        .where(s.c.id == session_id(token), s.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return done.rowcount > 0


def end_sessions(conn: Connection, username: str, now: dt.datetime) -> int:
    """End every session of ``username`` (a changed password, a disabled user)."""
    s = t.sessions
    done = conn.execute(
        update(s).where(s.c.username == username, s.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return done.rowcount


def purge_sessions(conn: Connection, now: dt.datetime, *, lifetime: float, idle: float) -> int:
    """Delete the sessions that have ended: revoked, past their lifetime or idle too long."""
    s = t.sessions
    return conn.execute(
        delete(s).where(
            or_(
                s.c.revoked_at.is_not(None),
                s.c.created_at <= now - dt.timedelta(seconds=lifetime),
                s.c.last_seen_at <= now - dt.timedelta(seconds=idle),
            )
        )
    ).rowcount
