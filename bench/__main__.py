"""``python -m bench [--store sqlite,postgresql] [--sizes 100000,1000000] [--datasets
episodes,billing]``: generate the data, run every scenario on each store in a process of its
own against sandboxes in processes of their own, print the tables, check the targets and
write the JSON (``bench/results/latest.json``).

Stores: ``sqlite`` (files in the run's temporary folder, the hub's embedded default) and
``postgresql`` (a fresh schema at ``HUB_TEST_PG_URL`` per data set and N, dropped after:
:mod:`bench.stores`); each scenario writes into the store measured.

Data sets: ``episodes`` — the county case system's nightly export of N service episodes,
read by the exchange county_to_employment_authority and delivered to the employment
authority's sandbox; ``billing`` — Kela's monthly billing list of N lines for Seinäjoki,
read by kela_to_seinajoki and delivered to the import of Seinäjoki's own system. Scenarios:
the floor (streaming parse and the store's fastest plain load: an upsert into SQLite, binary
COPY into PostgreSQL, :mod:`bench.floor`), dlt (the same parser, merge on the key into the
same store), the hub's full extract, its incremental re-sync after 1 % changed (episodes
only: a billing list is never changed once published, next month's is a new list) and its
delivery over HTTP. ``BENCH_PYSPY=DIR`` runs each scenario under py-spy and writes its
profile per record (:mod:`bench.profile`); ``BENCH_PROFILE=DIR`` under pyinstrument;
``BENCH_SQL=DIR`` times each kind of SQL statement (:mod:`bench.sqltime`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data, profile, report, stores
from bench.memory import PeakMemory
from hub.plugins import sandbox_registry
from hub.privacy.crypto import generate_master_key
from hub.sandbox import free_port

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "episodes": ("floor", "dlt", "hub_full", "hub_incremental", "hub_deliver"),
    "billing": ("floor", "dlt", "hub_full", "hub_deliver"),
}


class Server:
    """A sandbox in a child process (:mod:`bench.serve`)."""

    def __init__(self, adapter: str, **options: str):
        self.port = free_port()
        settings = [f"{k}={v}" for k, v in options.items()]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", adapter, str(self.port), *settings], cwd=ROOT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {adapter} sandbox did not start") from None
                time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}" + sandbox_registry()[adapter].base_path

    def cpu_seconds(self) -> float:
        """CPU time the sandbox has used so far (it shares the machine's cores)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_child(name: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run scenario ``name`` in a new process; its result, the peak memory of it and every
    process it started (PSS, :mod:`bench.memory`) and the largest single process's RSS."""
    argv = [sys.executable, "-m", "bench.scenarios", name, json.dumps(args)]
    raw = None
    if env.get("BENCH_PYSPY"):
        tag = f"{args['store']}-{args['dataset']}-{name}-{args['n']}"
        raw = Path(env["BENCH_PYSPY"]).resolve() / f"{tag}.raw"
        raw.parent.mkdir(parents=True, exist_ok=True)
        argv = profile.command(raw, argv)
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    memory = PeakMemory(proc.pid)
    memory.start()
    out = proc.stdout.read()
    peak = memory.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"scenario {name} failed (exit {proc.returncode})")
    result = json.loads(next(x for x in reversed(out.splitlines()) if x.startswith("{")))
    result["peak_mib"] = peak
    result["max_rss_mib"] = usage.ru_maxrss / 1024  # Linux: KiB
    result["rate"] = result["records"] / result["seconds"] if result["seconds"] else 0.0
    if raw is not None and raw.exists():
        raw.with_suffix(".txt").write_text(profile.summary(raw, result["records"]) + "\n")
    return result


def _environment(work: Path, urls: dict[str, str], target: stores.Target) -> dict[str, str]:
    env = {
        **os.environ,
        "HUB_HOME": str(work / "hub"),
        "HUB_EXCHANGES": str(ROOT / "bench" / "exchanges.yaml"),
        "HUB_MASTER_KEY": generate_master_key(),
        **{f"HUB_SYSTEM_{system.upper()}_URL": url for system, url in urls.items()},
    }
    env.pop("HUB_STORE_URL", None)  # the embedded default: SQLite in HUB_HOME
    if target.hub_url:
        env["HUB_STORE_URL"] = target.hub_url
    return env


def _place(source: Path, folder: Path) -> None:
    """``source`` into ``folder`` (a hard link where possible: a million records is big)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    try:
        os.link(source, target)
    except OSError:
        shutil.copy(source, target)


def measure(store: str, dataset: str, n: int, cache: Path, only: set[str]) -> dict[str, Any]:
    started = time.perf_counter()
    if dataset == "episodes":
        full, delta = data.exports(cache, n)
    else:
        full, delta = data.billing_list(cache, n), None
    print(
        f"{store}: {dataset}, N = {n:,}: data ready in {time.perf_counter() - started:.0f} s "
        f"({full.stat().st_size / 2**20:.0f} MiB)",
        flush=True,
    )
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix=f"hub-bench-{dataset}-{n}-") as tmp,
        stores.target(store) as target,
    ):
        work = Path(tmp)
        files = work / "source"
        _place(full, files)
        if dataset == "episodes":
            servers = {  # by system (bench/exchanges.yaml): a sandbox of its adapter
                "county_case_system": Server("municipal", export_dir=str(files)),
                "employment_authority": Server("te_office"),
            }
        else:
            servers = {
                "kela_seinajoki": Server("kela", billing_dir=str(files)),
                "seinajoki": Server("municipal", municipality="743"),
            }
        env = _environment(work, {system: s.url for system, s in servers.items()}, target)
        args = {"work": str(work), "full": str(full), "n": n, "dataset": dataset}
        args.update(target.args())
        try:
            for name in SCENARIOS[dataset]:
                if name not in only:
                    continue
                if name == "hub_incremental":  # the next night's export arrives
                    _place(delta, files)
                before = sum(s.cpu_seconds() for s in servers.values())
                results[name] = run_child(name, {**args, "run": name}, env)
                r = results[name]
                r["sandbox_cpu_s"] = sum(s.cpu_seconds() for s in servers.values()) - before
                print(
                    f"  {name:<16} {r['records']:>9,} records {r['seconds']:8.2f} s "
                    f"{r['rate']:>9,.0f} rec/s  peak {r['peak_mib']:5.0f} MiB  "
                    f"(sandboxes: {r['sandbox_cpu_s']:.1f} s CPU)",
                    flush=True,
                )
        finally:
            for server in servers.values():
                server.stop()
    if dataset == "episodes":
        results["changed"] = data.changed_count(n)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--store", default=",".join(stores.STORES), help="sqlite, postgresql (default: both)"
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N")
    parser.add_argument("--datasets", default="episodes,billing", help="episodes, billing")
    parser.add_argument("--only", default=",".join(SCENARIOS["episodes"]), help="scenarios")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench", help="generated data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    datasets = args.datasets.split(",")
    store_names = args.store.split(",")
    unknown = set(datasets) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown data sets: {', '.join(sorted(unknown))}")
    if set(store_names) - set(stores.STORES):
        parser.error(f"unknown stores: {args.store} (sqlite, postgresql)")
    runs = {
        store: {
            dataset: {str(n): measure(store, dataset, n, args.cache, only) for n in sizes}
            for dataset in datasets
        }
        for store in store_names
    }
    result = {"machine": report.machine("postgresql" in runs), "stores": runs}
    result["targets"] = report.targets(runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(report.table(result))
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"\nwritten to {shown}")


if __name__ == "__main__":
    main()
