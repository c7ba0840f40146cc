"""The measured scenarios. Each runs in a fresh process (``python -m bench.scenarios NAME
ARGS_JSON``), so that its peak memory is its own; it prints one JSON line:
``{"records": n, "seconds": s, ...}``. The parent reads the peak RSS from ``wait4``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.floor import floor
from bench.parsing import COLUMNS, pages

#: the exchange the hub runs on each data set (bench/exchanges.yaml)
EXCHANGES = {"episodes": "county_to_employment_authority", "billing": "kela_to_seinajoki"}


def _dlt_destination(args: dict[str, Any]) -> tuple[Any, str]:
    """(destination, dataset name): SQLite through dlt's sqlalchemy destination; PostgreSQL
    through dlt's own postgres destination, its dataset a schema beside the run's (dropped
    with it, :mod:`bench.stores`)."""
    from dlt.destinations import postgres
    from dlt.destinations import sqlalchemy as dlt_sqlalchemy

    if args["store"] == "postgresql":
        return postgres(credentials=args["pg_url"]), f"{args['schema']}_dlt"
    return dlt_sqlalchemy(credentials=f"sqlite:///{Path(args['work']) / 'dlt.db'}"), "source"


def dlt_merge(args: dict[str, Any]) -> dict[str, Any]:
    """The same parsing generator into a dlt pipeline: merge on the primary key into the
    same store (SQLite or PostgreSQL), pages of 10 000 rows, dlt's defaults otherwise."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt

    work, dataset = Path(args["work"]), args["dataset"]
    destination, dataset_name = _dlt_destination(args)
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{dataset}",
        destination=destination,
        dataset_name=dataset_name,
        pipelines_dir=str(work / "dlt-pipelines"),
    )

    @dlt.resource(name=dataset, write_disposition="merge", primary_key=COLUMNS[dataset][0])
    def resource():
        yield from pages(dataset, Path(args["full"]))

    start = time.perf_counter()
    info = pipeline.run(resource())
    seconds = time.perf_counter() - start
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(dataset)
        stored = client.execute_sql(f"SELECT count(*) FROM {table}")[0][0]
    return {"records": stored, "seconds": seconds, "stored": stored, "dlt": dlt.__version__}


def _hub_phase(exchange: str, phase: str, external_id: str) -> tuple[float, Any]:
    from hub.engine.context import Hub
    from hub.engine.run import run_phase
    from hub.store import runs

    hub = Hub.open(upgrade=True)  # a fresh store at the first phase: `hub db upgrade`
    try:
        if phase == "extract":
            run_phase(hub, exchange, "check", external_id, last=False)
        start = time.perf_counter()
        run_id = run_phase(hub, exchange, phase, external_id, last=True)
        with hub.store.transaction() as conn:
            run = dict(runs.get_run(conn, run_id)._mapping)
    finally:
        hub.close()  # timed too: closing the store writes what SQLite's log still holds
    return time.perf_counter() - start, run


def hub_extract(args: dict[str, Any]) -> dict[str, Any]:
    """The hub's extract phase through the real adapter, reading the export (the billing
    list) from the county case system's (Kela's) sandbox over HTTP: model, validation, pseudonyms,
    encryption, store, outbox, access log. ``run`` names the run (full or incremental)."""
    seconds, run = _hub_phase(EXCHANGES[args["dataset"]], "extract", args["run"])
    return {
        "records": run["read"],
        "seconds": seconds,
        "upserted": run["upserted"],
        "unchanged": run["unchanged"],
        "failed": run["failed"],
    }


def hub_deliver(args: dict[str, Any]) -> dict[str, Any]:
    """The hub's deliver phase: every pending record of the outbox to the target's sandbox
    (the employment authority's, Seinäjoki's own system's) over HTTP, with the
    disclosure log written before each batch."""
    seconds, run = _hub_phase(EXCHANGES[args["dataset"]], "deliver", args["run"])
    done = run["delivered"] + run["skipped"]
    return {
        "records": done,
        "seconds": seconds,
        "delivered": run["delivered"],
        "skipped": run["skipped"],
        "failed": run["failed"],
    }


SCENARIOS = {
    "floor": floor,
    "dlt": dlt_merge,
    "hub_full": hub_extract,
    "hub_incremental": hub_extract,
    "hub_deliver": hub_deliver,
}


def main() -> None:
    """Run one scenario. With ``BENCH_PROFILE=DIR`` it runs under pyinstrument and writes
    ``DIR/<store>-<data set>-<scenario>-<N>.txt`` (rates measured so are not comparable)."""
    name, args = sys.argv[1], json.loads(sys.argv[2])
    timer, sql_folder = None, os.environ.get("BENCH_SQL")
    if sql_folder:
        from bench.sqltime import StatementTimer

        timer = StatementTimer()
        timer.install()
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        result = SCENARIOS[name](args)
    else:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            result = SCENARIOS[name](args)
        out = Path(folder) / f"{args['store']}-{args['dataset']}-{name}-{args['n']}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(show_all=False))
    if timer is not None:
        tag = f"{args['store']}-{args['dataset']}-{name}-{args['n']}"
        timer.write(Path(sql_folder) / f"{tag}.sql.txt", result.get("records", 0))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
