"""The benchmark's harness on a few records (``make bench`` runs the real sizes): its data,
the floor on each store, the PostgreSQL schema it makes and drops, and its targets."""

import pytest

from bench import data, profile, report, stores
from bench.floor import floor

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _schemas(prefix: str) -> list[str]:
    import psycopg

    with psycopg.connect(stores.libpq_url(stores.pg_base_url())) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
    return [name for (name,) in rows]


@pytest.mark.parametrize("store", STORES)
def test_floor_loads_every_record_into_the_store_and_leaves_nothing(store, tmp_path):
    episodes, _ = data.exports(tmp_path / "cache", 40)
    billing = data.billing_list(tmp_path / "cache", 25)
    with stores.target(store) as target:
        for dataset, path, n in (("episodes", episodes, 40), ("billing", billing, 25)):
            args = {"work": str(tmp_path), "full": str(path), "dataset": dataset, "n": n}
            result = floor({**args, **target.args()})
            assert (result["records"], result["stored"]) == (n, n), dataset
    if store == "postgresql":
        assert target.schema and target.schema in target.hub_url
        assert _schemas(target.schema) == []


def test_targets_are_issue_17s_per_store():
    run = {
        "floor": {"rate": 100_000.0, "seconds": 1.0},
        "dlt": {"rate": 10_000.0, "seconds": 10.0},
        "hub_full": {"rate": 25_000.0, "seconds": 4.0},
        "hub_incremental": {"rate": 1_000.0, "seconds": 0.1},
        "hub_deliver": {"rate": 16_000.0, "seconds": 6.0},
    }
    checks = report.targets({s: {"episodes": {"100000": run}} for s in stores.STORES})
    met = {c["target"]: c["met"] for c in checks}
    assert met["SQLite, episodes, N=100,000: full extract >= 2 x dlt"]
    assert not met["PostgreSQL, episodes, N=100,000: full extract >= 3 x dlt"]
    assert met["PostgreSQL, episodes, N=100,000: full extract >= 0.4 x floor"] is False
    assert not met["PostgreSQL, episodes, N=100,000: full extract >= 40,000 rec/s"]
    assert met["PostgreSQL, episodes, N=100,000: incremental (1 % changed) >= 20 x faster "
               "than full"]  # fmt: skip
    assert all(met[f"{s}, episodes, N=100,000: delivery >= 15,000 rec/s"]
               for s in ("SQLite", "PostgreSQL"))  # fmt: skip
    assert not any("SQLite" in c["target"] and "floor" in c["target"] for c in checks)


def test_profile_summary_counts_the_measured_phase_of_each_main_thread(tmp_path):
    """py-spy's raw stacks (``--subprocesses --idle``): the task's process, a forked worker
    nested under it, an idle thread and the imports before the phase."""
    main = 'process 10:"python -m bench.scenarios hub_full {}"'
    worker = 'process 11:"python -m bench.scenarios hub_full {}"'
    phase = "main (bench/scenarios.py:125);run_phase (hub/engine/run.py:85)"
    raw = tmp_path / "sqlite-episodes-hub_full-1000.raw"
    raw.write_text(
        f"{main};{phase};apply (hub/store/records.py:40) 500\n"
        f"{main};{phase};apply (hub/store/records.py:52);rows_in (hub/store/bulk.py:116) 250\n"
        f"{main};<module> (hub/engine/__init__.py:1) 999\n"
        f"{main};_bootstrap (threading.py:1002);Event.wait (threading.py:629) 999\n"
        f"{main};{worker};{phase};invalid (hub/xmlsafe.py:90) 125\n"
    )
    text = profile.summary(raw, 1000)
    # 250 samples a second: one sample is 4 ms, over 1 000 records 4 µs a record
    assert "main: 3000.0 µs a record" in text
    assert "worker: 500.0 µs a record" in text
    assert "2000.00  apply (hub/store/records.py)" in text  # own time: the lines merged
    assert "3000.00  apply (hub/store/records.py)" in text  # with rows_in under it
    assert "__init__" not in text and "Event.wait" not in text


def test_statement_times_are_grouped_by_kind_with_value_lists_folded(tmp_path):
    from sqlalchemy import create_engine, text

    from bench.sqltime import StatementTimer, shape

    assert shape("SELECT a FROM t WHERE k IN (%s, %s,\n %s)") == "SELECT a FROM t WHERE k IN (…)"
    assert shape("INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)") == (
        "INSERT INTO t (a, b) VALUES (…)…"
    )
    timer = StatementTimer()
    timer.install()
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
            for i in range(3):  # one kind, three calls, whatever the number of values
                keys = ", ".join(f":k{j}" for j in range(i + 1))
                conn.execute(
                    text(f"SELECT v FROM t WHERE k IN ({keys})"), {f"k{j}": j for j in range(i + 1)}
                )
    finally:
        timer.uninstall()
        engine.dispose()
    calls = {kind: n for kind, (n, _) in timer.totals.items()}
    assert calls["SELECT v FROM t WHERE k IN (…)"] == 3
    summary = timer.summary(records=3)
    assert "µs a record (3 records)" in summary and "SELECT v FROM t WHERE k IN (…)" in summary
