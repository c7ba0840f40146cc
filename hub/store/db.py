"""Opening the store: SQLite file (embedded default) or PostgreSQL by URL, with migrations.

Nothing waits for the store without limit: SQLite waits ``HUB_STORE_BUSY_TIMEOUT`` for a
lock another connection holds, PostgreSQL gets ``lock_timeout`` and ``statement_timeout``
on every connection. When a wait runs out (or PostgreSQL breaks a deadlock), the driver's
error is turned, in this one place (:func:`_translate_contention`), into
:class:`hub.errors.StoreBusy`: a transient error with a message an operator can act on.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url

from hub.errors import StoreBusy, StoreNotReady
from hub.settings import (
    BUSY_TIMEOUT_ENV,
    LOCK_TIMEOUT_ENV,
    STATEMENT_TIMEOUT_ENV,
    StoreTimeouts,
)

MIGRATIONS = Path(__file__).with_name("migrations")

# SQLite result codes (the primary code is the low byte of an extended one)
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT = 5, 6, 517
# PostgreSQL SQLSTATEs of contention
PG_LOCK_NOT_AVAILABLE, PG_QUERY_CANCELED, PG_DEADLOCK = "55P03", "57014", "40P01"


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def display_url(url: str) -> str:
    """``url`` as it may be shown and logged: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def create_store_engine(url: str, timeouts: StoreTimeouts | None = None) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout: a killed
    process never leaves a half-written transaction behind. Every wait for a lock is bounded
    by ``timeouts`` (the defaults of :class:`StoreTimeouts` when not given)."""
    timeouts = timeouts or StoreTimeouts()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeouts.busy})
        busy_ms = round(timeouts.busy * 1000)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms:d}")
            # a 16 MiB page cache (default 2 MiB). Measured on a million-record extract: 16,
            # 32 and 64 MiB load at the same rate (pages the cache drops are read back from
            # the operating system's cache), so a larger one would only cost memory
            cur.execute("PRAGMA cache_size=-16384")
            cur.close()

    else:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True)
        if parsed.get_backend_name() == "postgresql":
            _bound_postgresql_waits(engine, timeouts)
    _translate_contention(engine, display_url(url), timeouts)
    return engine


def _bound_postgresql_waits(engine: Engine, timeouts: StoreTimeouts) -> None:
    """``lock_timeout``, ``statement_timeout`` and ``plan_cache_mode`` on every new
    connection. A ``SET`` rather than libpq ``options``, so a URL's own ``options`` (e.g. a
    ``search_path``) stay as they are; committed, so no later rollback of the connection
    undoes it."""
    lock_ms = round(timeouts.lock * 1000)
    statement_ms = round(timeouts.statement * 1000)

    @event.listens_for(engine, "connect")
    def _timeouts(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            # integers (milliseconds) from validated settings: nothing to quote
            cur.execute(f"SET lock_timeout = {lock_ms:d}")
            cur.execute(f"SET statement_timeout = {statement_ms:d}")
            # psycopg prepares a statement run five times; PostgreSQL may then keep a generic
            # plan made while a table was still small (an identity map at the start of a
            # run): 35 x slower lookups once it has grown. Prepared, but planned each time
            cur.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_conn.commit()


def _translate_contention(engine: Engine, store: str, timeouts: StoreTimeouts) -> None:
    """Raise :class:`StoreBusy` for the driver errors that mean "someone else holds the
    store": SQLAlchemy's ``handle_error`` hook sees every error of the engine (statements,
    begin and commit, connecting) and raises what a handler raises instead, chained to the
    driver's error. The message is built here from settings only: never the SQL text or its
    parameters, which may hold personal data."""
    _STORES[engine] = (store, timeouts)

    @event.listens_for(engine, "handle_error")
    def _contention(context: ExceptionContext) -> None:
        if context.is_pre_ping:
            return
        error = context.original_exception
        if context.dialect.name == "sqlite":
            busy = _sqlite_busy(error, store, timeouts)
        elif context.dialect.name == "postgresql":
            busy = _postgresql_busy(error, store, timeouts)
        else:
            busy = None
        if busy is not None:
            raise busy


#: engine -> (store as shown, timeouts), for errors raised outside a statement (COPY)
_STORES: weakref.WeakKeyDictionary[Engine, tuple[str, StoreTimeouts]] = weakref.WeakKeyDictionary()


def translate(engine: Engine, error: BaseException) -> StoreBusy | None:
    """The :class:`StoreBusy` a driver ``error`` means on ``engine`` (None: not contention),
    for driver calls SQLAlchemy does not see (psycopg's ``COPY``: :mod:`hub.store.pgcopy`)."""
    store, timeouts = _STORES.get(engine, (display_url(str(engine.url)), StoreTimeouts()))
    if engine.dialect.name == "postgresql":
        return _postgresql_busy(error, store, timeouts)
    if engine.dialect.name == "sqlite":
        return _sqlite_busy(error, store, timeouts)
    return None


def _limit(seconds: float, setting: str, server_name: str) -> str:
    if seconds:
        return f"{seconds:g} s ({setting})"
    return f"the server's {server_name} ({setting} is 0, no limit of the hub's own)"


def _sqlite_busy(error: BaseException, store: str, timeouts: StoreTimeouts) -> StoreBusy | None:
    code = getattr(error, "sqlite_errorcode", None)
    text = str(error)
    if code is None:  # a driver without result codes: go by SQLite's own wording
        if "database is locked" in text:
            code = SQLITE_BUSY
        elif "is locked" in text and text.startswith("database "):
            code = SQLITE_LOCKED
        else:
            return None
    if code == SQLITE_BUSY_SNAPSHOT:
        return StoreBusy(
            f"the store {store} was written by another connection while this transaction "
            "was reading it: the transaction has to start over",
            store=store,
        )
    if code & 0xFF == SQLITE_BUSY:
        return StoreBusy(
            f"the store {store} is locked by another process: gave up after "
            f"{timeouts.busy:g} s ({BUSY_TIMEOUT_ENV})",
            store=store,
            setting=BUSY_TIMEOUT_ENV,
        )
    if code & 0xFF == SQLITE_LOCKED:
        return StoreBusy(
            f"a table of the store {store} is locked by another connection of this process",
            store=store,
        )
    return None


def _postgresql_busy(error: BaseException, store: str, timeouts: StoreTimeouts) -> StoreBusy | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if state == PG_LOCK_NOT_AVAILABLE:
        return StoreBusy(
            f"the store {store} is locked by another session: gave up after "
            f"{_limit(timeouts.lock, LOCK_TIMEOUT_ENV, 'lock_timeout')}",
            store=store,
            setting=LOCK_TIMEOUT_ENV,
        )
    if state == PG_QUERY_CANCELED:
        if "statement timeout" in str(error):  # the server's wording (English messages)
            return StoreBusy(
                f"a statement on the store {store} was cancelled: it ran longer than "
                f"{_limit(timeouts.statement, STATEMENT_TIMEOUT_ENV, 'statement_timeout')}",
                store=store,
                setting=STATEMENT_TIMEOUT_ENV,
            )
        return StoreBusy(
            f"a statement on the store {store} was cancelled by the server or an "
            f"administrator (statement time limit: "
            f"{_limit(timeouts.statement, STATEMENT_TIMEOUT_ENV, 'statement_timeout')})",
            store=store,
            setting=STATEMENT_TIMEOUT_ENV,
        )
    if state == PG_DEADLOCK:
        return StoreBusy(
            f"the store {store} rolled this transaction back to break a deadlock with "
            "another session",
            store=store,
        )
    return None


#: the PostgreSQL advisory lock migrations run under (any constant of the hub's own)
MIGRATION_LOCK = 0x6875625F6D6967  # "hub_mig"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent), under a lock: of two processes
    migrating the same store at once, one waits for the other and then finds nothing to do.
    PostgreSQL: a transaction-level advisory lock; SQLite: the database's write lock, taken
    at the start (``BEGIN IMMEDIATE``). Either wait is bounded by the store's timeouts. A
    store found at ``revision`` already is left alone without taking the lock (a second
    ``hub db upgrade`` need not wait for a run that is writing)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK:d})")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        command.upgrade(alembic_config(conn), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision (None: no schema yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine, store: str) -> None:
    """Raise :class:`StoreNotReady` unless the store's schema is the one this hub needs."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise StoreNotReady(
            f"the store {store} has no schema yet: run `hub db upgrade` first (once, "
            "before any exchange runs)"
        )
    known = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        raise StoreNotReady(
            f"the store {store} is at schema {current}, newer than this hub knows (up to "
            f"{head}): upgrade the hub, or use the store of this version"
        )
    raise StoreNotReady(
        f"the store {store} is at schema {current} and this hub needs {head}: run "
        "`hub db upgrade` (with the exchanges paused)"
    )
