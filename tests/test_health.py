"""Exchange health: last run, last success, staleness against the schedule."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hub.engine import Hub, run_exchange
from hub.ops.health import all_health, exchange_health, schedule_interval
from hub.store import schema as t


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [("0 2 * * *", 24), ("30 3 * * *", 24), ("0 4 * * 1", 168), ("@hourly", 1), (None, None)],
)
def test_interval_of_a_schedule(schedule, hours):
    interval = schedule_interval(schedule, dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC))
    assert interval == (dt.timedelta(hours=hours) if hours else None)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_exchange_goes_stale_after_a_multiple_of_its_schedule(hub_env):
    hub = Hub.open()
    try:
        summary = run_exchange(hub, "employment_authority_to_county")
        exchange = hub.config.exchange("employment_authority_to_county")
        with hub.store.transaction() as conn:
            fresh = exchange_health(conn, exchange)
            assert fresh.last_state == "success_with_failures" and not fresh.stale
            assert fresh.status == "degraded"  # the sandbox's rule breakers wait as letters
            assert fresh.read == summary.read and fresh.open_dead_letters == summary.failed
            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2, hours=1)
            assert exchange_health(conn, exchange, at=later).stale
            assert not exchange_health(conn, exchange, at=later, stale_factor=3).stale
            never = {h.name: h.status for h in all_health(conn, hub.config)}
            assert never["county_to_kela"] == "never-run"
            conn.execute(t.runs.update().values(state="failed"))
            assert exchange_health(conn, exchange).status == "failed"
    finally:
        hub.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_status_follows_open_dead_letters_and_the_failure_ratio(hub_env):
    """Every delivery rejected: the run completes with failures and the exchange is
    ``failing``; once the letters are dealt with it is ``ok``; letters of an earlier run
    still open after a clean run keep it ``degraded``."""
    from hub.store import runs

    name = "employment_authority_to_county"
    hub = Hub.open()
    try:
        exchange = hub.config.exchange(name)
        hub_env.faults("county_case_system", reject_writes=True)
        rejected = run_exchange(hub, name)
        assert rejected.state == runs.SUCCESS_WITH_FAILURES and rejected.delivered == 0
        with hub.store.transaction() as conn:
            health = exchange_health(conn, exchange)
            assert health.failure_ratio == 1.0 and health.status == "failing"
            assert health.last_success is not None  # it ran through: not stale
            conn.execute(t.dead_letters.update().values(status="resolved"))
            assert exchange_health(conn, exchange).status == "ok"
            conn.execute(t.dead_letters.update().values(status="open"))
        hub_env.faults("county_case_system")
        clean = run_exchange(hub, name)  # nothing new to read: no record fails
        assert clean.state == runs.SUCCESS and clean.failed == 0
        with hub.store.transaction() as conn:
            assert exchange_health(conn, exchange).status == "degraded"  # letters still open
    finally:
        hub.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_runs_list_shows_a_run_with_failed_records_as_such(hub_env, capsys):
    from hub.cli import main

    hub = Hub.open()
    try:
        summary = run_exchange(hub, "employment_authority_to_county")
    finally:
        hub.close()
    assert summary.state == "success_with_failures" and summary.failed > 0
    assert main(["runs", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["state"], listed["failed"]) == ("success_with_failures", summary.failed)
