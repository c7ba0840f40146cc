"""Where one measurement stores: SQLite files in the run's temporary folder, or a PostgreSQL
schema of its own at ``HUB_TEST_PG_URL`` (the test suite's server, default the local
``test`` database), created before the scenarios and dropped with everything in it after,
together with the schemas dlt made for its dataset and staging (they share the prefix).

A fresh schema per (data set, N) keeps runs apart on a server other work shares and leaves
nothing behind; the hub's own tables are made in it by ``Hub.open(upgrade=True)``, as
``hub db upgrade`` would, through the ``search_path`` the store URL sets.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

STORES = ("sqlite", "postgresql")
#: the test suite's default (hub.testing.fixtures.PG_DEFAULT)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    return os.environ.get("HUB_TEST_PG_URL", PG_DEFAULT)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as libpq takes it, for psycopg and for
    dlt's postgres destination (psycopg2), with an empty password where it has none: dlt
    refuses credentials without one, where the server trusts local connections."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parsed = parsed.set(drivername="postgresql", password=parsed.password or "")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class Target:
    """The store of one measurement: ``hub_url`` for ``HUB_STORE_URL`` (None: the hub's
    embedded SQLite in ``HUB_HOME``), ``pg_url`` and ``schema`` for the floor and dlt."""

    store: str
    hub_url: str | None = None
    pg_url: str | None = None
    schema: str | None = None

    def args(self) -> dict[str, str | None]:
        return {"store": self.store, "pg_url": self.pg_url, "schema": self.schema}


def _drop(conninfo: str, prefix: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextmanager
def target(store: str) -> Iterator[Target]:
    """The store for one (data set, N), removed afterwards."""
    if store == "sqlite":
        yield Target("sqlite")
        return
    if store != "postgresql":
        raise ValueError(f"unknown store {store!r}: one of {', '.join(STORES)}")
    import psycopg

    base = pg_base_url()
    conninfo = libpq_url(base)
    schema = f"hub_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        from sqlalchemy.engine import make_url

        shown = make_url(base).render_as_string(hide_password=True)
        raise SystemExit(
            f"PostgreSQL at HUB_TEST_PG_URL ({shown}) cannot be reached: {exc}"
        ) from None
    sep = "&" if "?" in base else "?"
    hub_url = f"{base}{sep}options=-csearch_path%3D{schema}"
    try:
        yield Target("postgresql", hub_url=hub_url, pg_url=conninfo, schema=schema)
    finally:
        _drop(conninfo, schema)
