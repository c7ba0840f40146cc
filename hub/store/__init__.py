"""The hub store: canonical records, identity map, cursors, outbox, dead letters, runs and
the access and disclosure logs, on SQLAlchemy 2 with Alembic migrations.

SQLite (a file) is the embedded default; PostgreSQL is the production store (by URL).
The repository modules (``records``, ``outbox``, ``deadletters``, ``runs``, ``audit``) are
plain functions on a connection, so the engine decides what one transaction holds.

Every wait for the store is bounded (:class:`hub.settings.StoreTimeouts`); a store held by
someone else longer than that is :class:`hub.errors.StoreBusy`, a transient error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

from hub.privacy import Keyring
from hub.settings import StoreTimeouts
from hub.store import fencing, statistics
from hub.store.db import check_schema, create_store_engine, display_url, migrate


class Store:
    def __init__(
        self,
        url: str,
        keys: Keyring,
        *,
        upgrade: bool = False,
        timeouts: StoreTimeouts | None = None,
    ):
        self.url = url
        self.keys = keys
        self.timeouts = timeouts or StoreTimeouts()
        self.engine: Engine = create_store_engine(url, self.timeouts)
        try:
            if upgrade:  # `hub db upgrade`, the demo's first step, tests' fresh stores
                migrate(self.engine)
            else:  # everyone else finds the schema it needs, or is told what to run
                check_schema(self.engine, self.display_url)
        except BaseException:
            self.engine.dispose()
            raise
        #: PostgreSQL's planner statistics kept current as runs grow the tables
        self.freshness = statistics.Freshness(self.engine)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: committed on success, rolled back on any error.

        Under an exchange's lease (:mod:`hub.engine.lease`) the transaction checks, last
        before it commits, that the lease is still this holder's, and renews it; a lease
        another run has taken over rolls it back (:class:`hub.store.leases.LeaseLost`)."""
        with self.engine.begin() as conn:
            try:
                yield conn
                fencing.check(conn, str(self.engine.url))
            except BaseException:
                statistics.discard(conn)
                raise
            written = statistics.take(conn)
        self.freshness.committed(written)

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["Store", "StoreTimeouts"]
