"""The hub store: canonical records, identity map, cursors, outbox, dead letters, runs and
the access and disclosure logs, on SQLAlchemy 2 with Alembic migrations.

SQLite (a file) is the embedded default; PostgreSQL is the production store (by URL).
The repository modules (``records``, ``outbox``, ``deadletters``, ``runs``, ``audit``) are
plain functions on a connection, so the engine decides what one transaction holds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from hub.privacy import Keyring
from hub.store.db import create_store_engine, migrate


class Store:
    def __init__(self, url: str, keys: Keyring, *, upgrade: bool = True):
        self.url = url
        self.keys = keys
        self.engine: Engine = create_store_engine(url)
        if upgrade:
            migrate(self.engine)

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["Store"]
