"""Exchange health: last run, last success, staleness against the schedule."""

from __future__ import annotations

import datetime as dt

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
            assert fresh.last_state == "success" and not fresh.stale
            assert fresh.status == "degraded"  # the sandbox's rule breakers failed
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
