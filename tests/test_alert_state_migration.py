"""Migration 0012 on SQLite and PostgreSQL: the alert state and the log verifications move
into the store, and a run's state grows wide enough for ``success_with_failures``; a
downgrade gives such runs back as ``success`` (the state release 0011 knew)."""

import datetime as dt

import pytest
from alembic import command
from conftest import BOTH_STORES
from sqlalchemy import create_engine, inspect, text

from hub.store.db import alembic_config, migrate

pytestmark = BOTH_STORES

STAMP = dt.datetime(2026, 11, 20, 3, 30, tzinfo=dt.UTC)


@pytest.fixture
def engine(store_url):
    engine = create_engine(store_url)
    yield engine
    engine.dispose()


def _run(conn, run_id: str, state: str) -> None:
    conn.execute(
        text(
            "INSERT INTO runs (id, exchange, external_id, state, started_at, read, upserted,"
            " unchanged, delivered, skipped, failed, held_back) VALUES (:id, 'x', :id, :s, :at,"
            " 3, 3, 0, 2, 0, 1, 0)"
        ),
        {"id": run_id, "s": state, "at": STAMP},
    )


def test_0012_adds_the_shared_state_and_the_run_state_with_failures_and_back(engine):
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0011")
        _run(conn, "r1", "success")
    migrate(engine)  # to 0012 (and any later head)
    with engine.begin() as conn:
        _run(conn, "r2", "success_with_failures")
        conn.execute(
            text(
                "INSERT INTO alert_state (key, fingerprint, first_sent_at, last_sent_at)"
                " VALUES ('stale:x', 'stale', :at, :at)"
            ),
            {"at": STAMP},
        )
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    with engine.connect() as conn:
        states = [tuple(r) for r in conn.execute(text("SELECT id, state FROM runs ORDER BY id"))]
        assert states == [("r1", "success"), ("r2", "success")]
        tables = set(inspect(conn).get_table_names())
        assert not tables & {"alert_state", "log_verifications"}
    migrate(engine)  # and up again
