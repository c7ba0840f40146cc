"""One run of an exchange at a time (issue 14): two runs started at the same instant — on a
fresh store and on a migrated one, SQLite and PostgreSQL — leave one disclosure-log entry per
disclosure and the target holding each record once; the second run ends cleanly ("exchange X
is running (run …, since …)", exit 75, no traceback) or, told to wait, runs after the first.
The lease's fencing: a holder whose lease was taken over commits nothing more."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import BOTH_STORES
from sqlalchemy import create_engine, func, select, text, update
from test_crash import key_of

from hub.engine import Hub
from hub.engine.lease import holding
from hub.errors import StoreNotReady, describe
from hub.store import leases, outbox
from hub.store import schema as t
from hub.store.db import create_store_engine, migrate
from hub.testing.fixtures import upgrade_store

CHILD = Path(__file__).parent / "support" / "race_child.py"
EXCHANGE = "employment_authority_to_county"
TARGET = "county_case_system"


@pytest.fixture
def race_env(tmp_path, monkeypatch, master_key, system_sandboxes, store_url):
    """As ``hub_env``, but the store is left as the test wants it (fresh or upgraded)."""
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUB_STORE_URL", store_url)
    monkeypatch.setenv("HUB_STORE_BUSY_TIMEOUT", "60")
    return system_sandboxes


def start_together(tmp_path: Path, *commands: str) -> list[subprocess.CompletedProcess]:
    """Start each ``hub`` command line in a process of its own, released at one instant."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), str(go), command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for command in commands
    ]
    import time

    time.sleep(2.5)  # every process imported and waiting
    go.touch()
    done = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def assert_each_disclosed_once(store_url: str, received: list[dict]) -> None:
    keys = [key_of(item) for item in received]
    assert keys, "the target received nothing"
    per_record = Counter(k.split(":")[1] for k in keys)
    assert max(per_record.values()) == 1, "the target received a record twice"
    engine = create_engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.disclosure_log.c.idempotency_key, t.disclosure_log.c.outcome)
        ).all()
        runs = conn.execute(
            select(t.runs.c.state, t.runs.c.error).order_by(t.runs.c.started_at)
        ).all()
        claimed = conn.execute(
            select(func.count()).where(t.outbox.c.status == outbox.SENDING)
        ).scalar()
    engine.dispose()
    logged = Counter(k for k, _ in rows)
    assert max(logged.values()) == 1, "a disclosure was logged twice"
    assert set(logged) == set(keys), "the disclosure log and the target differ"
    assert {o for _, o in rows} <= {"ok", "skipped"}
    assert claimed == 0
    return runs


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "migrated"])
@BOTH_STORES
def test_two_runs_at_one_instant_disclose_each_record_once(race_env, store_url, tmp_path, fresh):
    if not fresh:
        upgrade_store(store_url)
    # a fresh store: each process runs the explicit first step, `hub db upgrade`, at once
    first = "db upgrade && " if fresh else ""
    a, b = start_together(
        tmp_path, f"{first}exchanges run {EXCHANGE}", f"{first}exchanges run {EXCHANGE}"
    )
    for done in (a, b):
        assert "Traceback" not in done.stderr, done.stderr
    # the winner completes with the sandbox's rule breakers as dead letters (2); the loser 75
    assert sorted([a.returncode, b.returncode]) == [2, 75], (a.stderr, b.stderr)
    loser = a if a.returncode == 75 else b
    assert f"exchange {EXCHANGE} is running (run " in loser.stderr
    assert ", since 20" in loser.stderr and "try again" in loser.stderr
    runs = assert_each_disclosed_once(store_url, race_env.received(TARGET))
    # the refused run never opened a run record
    assert [state for state, _ in runs] == ["success_with_failures"], runs


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_second_run_told_to_wait_runs_after_the_first(race_env, store_url, tmp_path):
    upgrade_store(store_url)
    a, b = start_together(
        tmp_path,
        f"exchanges run {EXCHANGE} --wait 120",
        f"exchanges run {EXCHANGE} --wait 120",
    )
    # the first reads the rule breakers (dead letters: 2), the second nothing new (0)
    assert sorted([a.returncode, b.returncode]) == [0, 2], (a.stderr, b.stderr)
    runs = assert_each_disclosed_once(store_url, race_env.received(TARGET))
    assert [state for state, _ in runs] == ["success_with_failures", "success"], runs


# --- the lease and its fencing ---------------------------------------------------------


@BOTH_STORES
def test_a_holder_whose_lease_was_taken_over_commits_nothing(hub_env, store_url):
    hub = Hub.open()
    try:
        with holding(hub, EXCHANGE, holder="first") as first:
            with hub.store.transaction() as conn:  # ours: commits, and renews the lease
                conn.execute(text("SELECT 1"))
            with hub.store.engine.begin() as conn:  # the lease runs out (a stalled machine)
                conn.execute(
                    update(t.exchange_leases)
                    .where(t.exchange_leases.c.exchange == EXCHANGE)
                    .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
                )
            with hub.store.engine.begin() as conn:  # ... and another run takes it over
                second = leases.acquire(conn, EXCHANGE, "second", 60, str(hub.store.engine.url))
            assert second is not None and second.token == first.token + 1
            with pytest.raises(leases.LeaseLost, match="another run took the exchange over"):
                with hub.store.transaction() as conn:
                    conn.execute(
                        t.cursors.insert().values(
                            exchange=EXCHANGE, stream="x", value="1", updated_at=dt.datetime.now()
                        )
                    )
        with hub.store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.cursors)).scalar() == 0
            holder = leases.holder_of(conn, EXCHANGE)
        assert holder is not None and holder.holder == "second"  # not released by the first
    finally:
        hub.close()


def test_a_lease_of_a_process_that_died_on_this_machine_is_taken_at_once(hub_env):
    hub = Hub.open()
    try:
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        ).stdout.strip()
        with hub.store.engine.begin() as conn:
            lease = leases.acquire(conn, EXCHANGE, "killed run", 3600, str(hub.store.engine.url))
            conn.execute(
                update(t.exchange_leases)
                .where(t.exchange_leases.c.exchange == EXCHANGE)
                .values(pid=int(dead))
            )
        leases.forget(lease)
        with holding(hub, EXCHANGE, holder="next", wait=0) as taken:
            assert taken.token == lease.token + 1
        # a live holder elsewhere is waited for, boundedly, and named
        with hub.store.engine.begin() as conn:
            other = leases.acquire(conn, EXCHANGE, "run manual__x", 3600, "elsewhere")
            conn.execute(
                update(t.exchange_leases)
                .where(t.exchange_leases.c.exchange == EXCHANGE)
                .values(host="another-machine", run_id="4f0c", pid=1)
            )
        with pytest.raises(leases.ExchangeBusy, match=r"is running \(run 4f0c, run manual__x"):
            with holding(hub, EXCHANGE, holder="late", wait=0.6):
                pass
        assert other is not None
    finally:
        hub.close()


# --- migrations: once, under a lock; a store behind is named ----------------------------


@BOTH_STORES
def test_opening_a_store_behind_its_schema_says_what_to_run(store_url, master_key, monkeypatch):
    monkeypatch.setenv("HUB_STORE_URL", store_url)
    with pytest.raises(StoreNotReady, match=r"has no schema yet: run `hub db upgrade`"):
        Hub.open()
    engine = create_store_engine(store_url)
    migrate(engine, "0004")
    with pytest.raises(StoreNotReady, match=r"is at schema 0004 and this hub needs \d+"):
        Hub.open()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreNotReady, match="newer than this hub knows"):
        Hub.open()
    engine.dispose()


def test_a_run_error_is_a_short_readable_cause():
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    sql = "INSERT INTO records (id, payload) VALUES (?, ?)" + " " * 5000
    error = IntegrityError(sql, ("x", "010190-900R"), sqlite3.IntegrityError("UNIQUE failed: x"))
    cause = describe(error)
    assert cause == "the store refused a statement: IntegrityError: UNIQUE failed: x"
    assert len(describe(ValueError("y" * 10_000))) <= 500
    assert "010190-900R" not in describe(ValueError("hetu 010190-900R is wrong"))
