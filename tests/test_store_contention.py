"""A store held by someone else: every wait is bounded and ends in a clear, transient
StoreBusy naming the store and the setting, never a hang or a raw driver traceback; once the
lock is gone, a retry of the same work succeeds.

Real contention only: another process holds SQLite's write lock (``BEGIN EXCLUSIVE``),
another PostgreSQL session holds a table lock or a row in a deadlock. Time is asserted only
against a generous bound (``BOUND``): enough to tell "bounded" from "waits forever" on a busy
shared machine."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

from hub.cli import EX_TEMPFAIL, main
from hub.engine import Hub, run_exchange, run_phase
from hub.engine import run as run_module
from hub.engine.run import CheckFailed, summarise
from hub.errors import ConfigError, StoreBusy, TransientError
from hub.privacy.crypto import generate_master_key, load_keyring
from hub.settings import Settings, StoreTimeouts
from hub.store import Store, runs
from hub.store import schema as t

BOUND = 60  # seconds: far above the 1 s limits used here, far below "forever"
EXCHANGE = "employment_authority_to_county"
SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
POSTGRES = pytest.mark.parametrize(
    "store_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

# holds SQLite's write lock in a process of its own until its stdin is closed
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextlib.contextmanager
def locked_by_another_process(database: Path) -> Iterator[None]:
    """``database`` write-locked by another process (``BEGIN EXCLUSIVE``) until exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "locked", "the locker did not take the lock"
        yield
    finally:
        proc.stdin.close()  # end of input: the locker rolls back and exits
        proc.wait(timeout=BOUND)


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database)


def keyring():
    return load_keyring(key=generate_master_key())


def timed(fn, *args, **kwargs) -> tuple[BaseException, float]:
    """The exception ``fn`` raises and how long it took to raise it."""
    began = time.monotonic()
    with pytest.raises(Exception) as caught:
        fn(*args, **kwargs)
    return caught.value, time.monotonic() - began


def open_run(store: Store, exchange: str, external_id: str) -> str:
    with store.transaction() as conn:
        return runs.open_run(conn, exchange, external_id)


# --- settings ----------------------------------------------------------------------------


def test_timeouts_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    for name in ("BUSY", "LOCK", "STATEMENT"):
        monkeypatch.delenv(f"HUB_STORE_{name}_TIMEOUT", raising=False)
    assert Settings.from_env().store_timeouts == StoreTimeouts(busy=30, lock=30, statement=600)
    monkeypatch.setenv("HUB_STORE_BUSY_TIMEOUT", "1.5")
    monkeypatch.setenv("HUB_STORE_LOCK_TIMEOUT", "5")
    monkeypatch.setenv("HUB_STORE_STATEMENT_TIMEOUT", "0")
    assert Settings.from_env().store_timeouts == StoreTimeouts(busy=1.5, lock=5, statement=0)


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "30s"])
@pytest.mark.parametrize("name", ["BUSY", "LOCK", "STATEMENT"])
def test_invalid_timeouts_are_config_errors_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(f"HUB_STORE_{name}_TIMEOUT", value)
    with pytest.raises(ConfigError, match=f"HUB_STORE_{name}_TIMEOUT"):
        Settings.from_env()


# --- SQLite ------------------------------------------------------------------------------


@SQLITE
def test_sqlite_locked_by_another_process_is_a_bounded_store_busy(store_url):
    store = Store(store_url, keyring(), upgrade=True, timeouts=StoreTimeouts(busy=1))
    try:
        secret = "external-id-that-must-not-leak"
        with locked_by_another_process(sqlite_file(store_url)):
            error, took = timed(open_run, store, EXCHANGE, secret)
        assert isinstance(error, StoreBusy) and isinstance(error, TransientError)
        assert error.transient and error.setting == "HUB_STORE_BUSY_TIMEOUT"
        message = str(error)
        assert store.display_url in message and "locked by another process" in message
        assert "gave up after 1 s (HUB_STORE_BUSY_TIMEOUT)" in message
        # neither the SQL nor its parameters: they may hold personal data
        assert secret not in message and "INSERT" not in message and "UPDATE" not in message
        assert took < BOUND
        # the lock is gone: the same write succeeds
        run_id = open_run(store, EXCHANGE, secret)
        with store.transaction() as conn:
            assert runs.get_run(conn, run_id).state == "running"
    finally:
        store.close()


@SQLITE
def test_sqlite_defaults_keep_every_caller_working(store_url):
    store = Store(store_url, keyring(), upgrade=True)  # no timeouts given: the defaults
    try:
        assert store.timeouts == StoreTimeouts()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        store.close()


@pytest.fixture
def hub(hub_env, monkeypatch):
    """A hub on a fresh SQLite store that waits 1 s for a lock (HUB_STORE_BUSY_TIMEOUT)."""
    monkeypatch.setenv("HUB_STORE_BUSY_TIMEOUT", "1")
    h = Hub.open()
    yield h
    h.close()


@SQLITE
def test_airflow_task_on_a_locked_store_fails_transiently_and_its_retry_succeeds(hub):
    """``run_phase`` as the DAG's task calls it: the run record cannot be opened, so the
    task fails with StoreBusy (Airflow retries it); the retry, lock gone, finishes the run."""
    assert hub.store.timeouts.busy == 1
    dag_run = "scheduled__2026-03-01T03:30:00+00:00"
    run_phase(hub, EXCHANGE, "check", dag_run, last=False)
    with locked_by_another_process(sqlite_file(hub.settings.store_url)):
        error, took = timed(run_phase, hub, EXCHANGE, "extract", dag_run, last=False)
    assert isinstance(error, StoreBusy) and "HUB_STORE_BUSY_TIMEOUT" in str(error)
    assert took < BOUND
    run_phase(hub, EXCHANGE, "extract", dag_run, last=False)  # the task's retry
    run_phase(hub, EXCHANGE, "deliver", dag_run, last=True)
    summary = summarise(hub, EXCHANGE, dag_run)
    assert summary.state == "success_with_failures" and summary.error is None
    assert summary.read > 0 and summary.delivered > 0


@SQLITE
def test_lock_taken_mid_run_raises_the_store_busy_and_the_rerun_succeeds(hub, monkeypatch):
    """The store is locked after the run was opened: extract gives up after the busy
    timeout, the failure cannot be recorded either (best effort), and the caller gets the
    StoreBusy itself, not a summary of a half-recorded run. Run again: it completes."""
    real_extract = run_module.extract
    locks = contextlib.ExitStack()

    def extract_under_lock(*args, **kwargs):
        locks.enter_context(locked_by_another_process(sqlite_file(hub.settings.store_url)))
        return real_extract(*args, **kwargs)

    monkeypatch.setattr(run_module, "extract", extract_under_lock)
    with locks:
        error, took = timed(run_exchange, hub, EXCHANGE, external_id="manual__1")
    assert isinstance(error, StoreBusy) and "HUB_STORE_BUSY_TIMEOUT" in str(error)
    assert took < BOUND
    monkeypatch.setattr(run_module, "extract", real_extract)
    summary = run_exchange(hub, EXCHANGE, external_id="manual__1")  # same run, continued
    assert summary.state == "success_with_failures", summary.error
    assert summary.delivered > 0


@SQLITE
def test_a_failure_that_cannot_be_recorded_is_not_masked(hub, monkeypatch, caplog):
    """The check fails while the store is locked: recording the failed run gives up (and
    says so in the log), and the error the caller sees is still the check's own."""
    locks = contextlib.ExitStack()

    def check_failing_under_lock(_hub, name):
        locks.enter_context(locked_by_another_process(sqlite_file(hub.settings.store_url)))
        raise CheckFailed(f"{name}: employment_authority is not reachable: connection refused")

    monkeypatch.setattr(run_module, "check", check_failing_under_lock)
    with locks, caplog.at_level(logging.WARNING, logger="hub.engine.run"):
        with pytest.raises(CheckFailed, match="employment_authority is not reachable"):
            run_exchange(hub, EXCHANGE, external_id="manual__2")
    assert any(
        "could not record the failure" in r.getMessage()
        and "HUB_STORE_BUSY_TIMEOUT" in r.getMessage()
        for r in caplog.records
    )


@SQLITE
def test_cli_run_on_a_locked_store_is_one_clear_line_then_runs_once_unlocked(hub, capsys):
    """``hub exchanges run`` against a store another process holds: one line naming the
    store and the setting, exit status 75 (try again later), no traceback, no run left
    behind; with the lock gone the same command runs the exchange to its end."""
    database = sqlite_file(hub.settings.store_url)
    with locked_by_another_process(database):
        began = time.monotonic()
        status = main(["exchanges", "run", EXCHANGE])
        took = time.monotonic() - began
    captured = capsys.readouterr()
    assert status == EX_TEMPFAIL and took < BOUND
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, captured.err
    assert str(database) in errors[0] and "HUB_STORE_BUSY_TIMEOUT" in errors[0]
    assert "Traceback" not in captured.err + captured.out
    assert "NoResultFound" not in captured.err + captured.out
    assert main(["runs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # the run could not even be opened

    # completed, with the sandbox's rule breakers as dead letters: exit status 2
    assert main(["exchanges", "run", EXCHANGE, "--json"]) == 2
    [run] = json.loads(capsys.readouterr().out)
    assert run["state"] == "success_with_failures" and run["delivered"] > 0


# --- PostgreSQL --------------------------------------------------------------------------


@contextlib.contextmanager
def another_session(store_url: str) -> Iterator:
    """A PostgreSQL session of its own on the store's schema (rolled back at the end)."""
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()
    finally:
        engine.dispose()


@POSTGRES
def test_postgresql_table_lock_is_a_bounded_store_busy(store_url):
    store = Store(store_url, keyring(), upgrade=True, timeouts=StoreTimeouts(lock=1))
    try:
        with another_session(store_url) as other:
            other.execute(text("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE"))
            error, took = timed(open_run, store, EXCHANGE, "manual__pg")
        assert isinstance(error, StoreBusy) and error.transient
        assert error.setting == "HUB_STORE_LOCK_TIMEOUT"
        message = str(error)
        assert "locked by another session: gave up after 1 s (HUB_STORE_LOCK_TIMEOUT)" in message
        assert store.display_url in message and "manual__pg" not in message
        assert "SELECT" not in message and "runs.exchange" not in message
        assert took < BOUND
        run_id = open_run(store, EXCHANGE, "manual__pg")  # the lock is gone
        with store.transaction() as conn:
            assert runs.get_run(conn, run_id).state == "running"
    finally:
        store.close()


@POSTGRES
def test_postgresql_statement_timeout_is_set_and_bounds_a_statement(store_url):
    default = Store(store_url, keyring(), upgrade=True)
    try:
        with default.engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "10min"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "30s"
    finally:
        default.close()
    store = Store(store_url, keyring(), upgrade=True, timeouts=StoreTimeouts(lock=1, statement=1))
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1s"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "1s"
            conn.rollback()  # a rollback does not undo them
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1s"
        with store.engine.connect() as conn:
            error, took = timed(conn.execute, text("SELECT pg_sleep(3)"))
        assert isinstance(error, StoreBusy) and error.setting == "HUB_STORE_STATEMENT_TIMEOUT"
        assert "ran longer than 1 s (HUB_STORE_STATEMENT_TIMEOUT)" in str(error)
        assert "pg_sleep" not in str(error)
        assert took < BOUND
        with store.transaction() as conn:  # the connection is usable again
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.close()


@POSTGRES
def test_postgresql_deadlock_is_a_store_busy(store_url):
    """Two sessions each hold a row the other wants: PostgreSQL rolls one back. The other
    session checks for deadlocks only after a minute, so the store's is the one."""
    store = Store(store_url, keyring(), upgrade=True)
    try:
        first, second = open_run(store, "one", "a"), open_run(store, "two", "b")
        holding, caught = threading.Event(), []

        def store_side():
            try:
                with store.transaction() as conn:
                    runs.finish_run(conn, second, "failed", "store side")
                    holding.set()
                    runs.finish_run(conn, first, "failed", "store side")
            except Exception as exc:
                caught.append(exc)
            finally:
                holding.set()

        with another_session(store_url) as other:
            try:
                other.execute(text("SET deadlock_timeout = '60s'"))
            except Exception:
                pytest.skip("the test role may not set deadlock_timeout")
            other.execute(update(t.runs).where(t.runs.c.id == first).values(error="other"))
            worker = threading.Thread(target=store_side)
            worker.start()
            assert holding.wait(BOUND)
            # waits for the store's row; the store waits for ours: a deadlock
            other.execute(update(t.runs).where(t.runs.c.id == second).values(error="other"))
            worker.join(BOUND)
        assert not worker.is_alive()
        [error] = caught
        assert isinstance(error, StoreBusy) and error.transient
        assert "deadlock" in str(error) and store.display_url in str(error)
    finally:
        store.close()
