"""Crash safety: a run killed with SIGKILL during extract or delivery, then rerun, leaves the
target holding every record exactly once and the store exactly as an uninterrupted run
would, with no orphan."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, func, select, text

from hub.settings import DEFAULT_EXCHANGES
from hub.store import schema as t

CHILD = Path(__file__).parent / "support" / "crash_child.py"
EXCHANGE = "employment_authority_to_county"


@pytest.fixture
def small_batches(tmp_path, monkeypatch):
    """The real exchanges file with small batches, so a run has many batches (and store
    transactions of several batches) to die in."""
    config = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    for exchange in config["exchanges"].values():
        exchange["batch_size"] = 7
        exchange["commit_every"] = 14  # two batches to a transaction
        exchange["delivery"] = {"max_attempts": 3, "max_wait_seconds": 1}
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("HUB_EXCHANGES", str(path))


def run_child(point: str, nth: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHILD), EXCHANGE, point, str(nth)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def key_of(item: dict) -> str:
    for name in ("idempotencyKey", "idempotency_key", "key"):
        if name in item:
            return item[name]
    raise AssertionError(f"no idempotency key in sandbox item {sorted(item)}")


def end_state(store_url: str, received: list[dict]) -> dict:
    engine = create_engine(store_url)
    with engine.connect() as conn:

        def scalar(sql: str) -> int:
            return conn.execute(text(sql)).scalar_one()

        state = {
            "records": {
                e: n
                for e, n in conn.execute(
                    select(t.records.c.entity, func.count()).group_by(t.records.c.entity)
                )
            },
            "versions>1": scalar("SELECT count(*) FROM records WHERE version > 1"),
            "outbox": {
                st: n
                for st, n in conn.execute(
                    select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status)
                )
            },
            "open_dead_letters": scalar("SELECT count(*) FROM dead_letters WHERE status='open'"),
            # orphans: none of these may exist
            "records_without_identity": scalar(
                "SELECT count(*) FROM records r WHERE NOT EXISTS "
                "(SELECT 1 FROM identity_map m WHERE m.record_id = r.id)"
            ),
            "identity_without_record": scalar(
                "SELECT count(*) FROM identity_map m WHERE NOT EXISTS "
                "(SELECT 1 FROM records r WHERE r.id = m.record_id)"
            ),
            "outbox_without_record": scalar(
                "SELECT count(*) FROM outbox o WHERE NOT EXISTS "
                "(SELECT 1 FROM records r WHERE r.id = o.record_id)"
            ),
            "delivered_without_disclosure": scalar(
                "SELECT count(*) FROM outbox o WHERE o.status = 'delivered' AND NOT EXISTS "
                "(SELECT 1 FROM disclosure_log d WHERE d.idempotency_key = o.idempotency_key "
                "AND d.outcome = 'ok')"
            ),
            "runs_running": scalar("SELECT count(*) FROM runs WHERE state = 'running'"),
        }
        delivered = set(
            conn.execute(
                select(t.outbox.c.idempotency_key).where(t.outbox.c.status == "delivered")
            ).scalars()
        )
    engine.dispose()
    keys = [key_of(item) for item in received]
    per_record = Counter(k.split(":")[1] for k in keys)
    state["target_duplicates"] = sum(n - 1 for n in per_record.values())
    state["target_matches_store"] = set(keys) == delivered
    state["target_count"] = len(keys)
    return state


@pytest.fixture
def baseline(hub_env, small_batches, store_url):
    done = run_child("none", 0)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    state = end_state(store_url, hub_env.received("county_case_system"))
    assert state["target_count"] > 0
    return state


KILLS = [
    ("extract-mid-transaction", 2),
    ("extract-before-cursor", 4),
    ("extract-after-commit", 3),
    ("deliver-before-send", 2),
    ("deliver-after-send", 1),
    ("deliver-after-send", 4),
    ("deliver-mid-mark", 3),
]


#: inside PostgreSQL's bulk path (hub.store.pgcopy), counted on this exchange's run: a COPY
#: half sent — of the people of a batch (1), records (2), identity links (3), outbox (4) and
#: access log (5) in extract; of the disclosure log, the settlement of the outbox and of
#: disclosures in delivery (126-131) — and a merge from a staging table run and not
#: committed: the people of a batch (2) in extract, settlements (10, 11) in delivery
KILLS_COPY = [
    ("copy-mid-stream", 1),
    ("copy-mid-stream", 2),
    ("copy-mid-stream", 3),
    ("copy-mid-stream", 4),
    ("copy-mid-stream", 5),
    ("copy-mid-stream", 126),
    ("copy-mid-stream", 128),
    ("copy-mid-stream", 130),
    ("copy-mid-stream", 131),
    ("merge-after-statement", 2),
    ("merge-after-statement", 10),
    ("merge-after-statement", 11),
]


@pytest.mark.slow
@pytest.mark.parametrize(("point", "nth"), KILLS, ids=[f"{p}-{n}" for p, n in KILLS])
@pytest.mark.parametrize(
    "store_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_kill_and_rerun_delivers_exactly_once(
    point, nth, baseline, hub_env, store_url, small_batches
):
    # a fresh start on the same sandboxes: empty the store and the target
    engine = create_engine(store_url)
    with engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    hub_env.reset()

    killed = run_child(point, nth)
    assert killed.returncode == -9, f"the kill point was not reached: {killed.stderr[-2000:]}"
    rerun = run_child("none", 0)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr[-3000:]

    state = end_state(store_url, hub_env.received("county_case_system"))
    assert state["target_duplicates"] == 0
    assert state["target_matches_store"]
    for orphan in (
        "records_without_identity",
        "identity_without_record",
        "outbox_without_record",
        "delivered_without_disclosure",
        "runs_running",
    ):
        assert state[orphan] == 0, orphan
    assert state == baseline


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize(("point", "nth"), KILLS_COPY, ids=[f"{p}-{n}" for p, n in KILLS_COPY])
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_kill_inside_postgresql_bulk_path(point, nth, baseline, hub_env, store_url, small_batches):
    test_kill_and_rerun_delivers_exactly_once(
        point, nth, baseline, hub_env, store_url, small_batches
    )
