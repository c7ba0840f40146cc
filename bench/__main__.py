"""``python -m bench [--sizes 100000,1000000]``: generate the data, run every scenario in a
process of its own against sandboxes in processes of their own, print the table, check
the targets and write the JSON (``bench/results/latest.json``)."""

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

from bench import data, report
from hub.plugins import sandbox_registry
from hub.privacy.crypto import generate_master_key
from hub.sandbox import free_port

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("floor", "dlt", "hub_full", "hub_incremental", "hub_deliver")


class Server:
    """A sandbox in a child process (:mod:`bench.serve`)."""

    def __init__(self, system: str, *options: str):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", system, str(self.port), *options], cwd=ROOT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {system} sandbox did not start") from None
                time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}" + sandbox_registry()[system].base_path

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_child(name: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run scenario ``name`` in a new process; its result plus its peak RSS in MiB."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.scenarios", name, json.dumps(args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"scenario {name} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux: KiB
    result["rate"] = result["records"] / result["seconds"] if result["seconds"] else 0.0
    return result


def measure(n: int, cache: Path, only: set[str]) -> dict[str, Any]:
    started = time.perf_counter()
    full, delta = data.exports(cache, n)
    print(f"N = {n:,}: data ready in {time.perf_counter() - started:.0f} s "
          f"({full.stat().st_size / 2**20:.0f} MiB export)", flush=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"hub-bench-{n}-") as tmp:
        work = Path(tmp)
        exports = work / "exports"
        exports.mkdir()
        os.link(full, exports / full.name) if _same_fs(full, work) else shutil.copy(full, exports)
        municipal, te_office = Server("municipal", str(exports)), Server("te_office")
        env = {
            **os.environ,
            "HUB_HOME": str(work / "hub"),
            "HUB_EXCHANGES": str(ROOT / "bench" / "exchanges.yaml"),
            "HUB_MASTER_KEY": generate_master_key(),
            "HUB_SYSTEM_MUNICIPAL_URL": municipal.url,
            "HUB_SYSTEM_TE_OFFICE_URL": te_office.url,
        }
        env.pop("HUB_STORE_URL", None)
        args = {"work": str(work), "full": str(full), "n": n}
        try:
            for name in ORDER:
                if name not in only:
                    continue
                if name == "hub_incremental":  # the next night's export arrives
                    shutil.copy(delta, exports / delta.name)
                run = {"run": name}
                results[name] = run_child(name, {**args, **run}, env)
                r = results[name]
                print(f"  {name:<16} {r['records']:>9,} records {r['seconds']:8.2f} s "
                      f"{r['rate']:>9,.0f} rec/s  peak {r['peak_mib']:5.0f} MiB", flush=True)
        finally:
            municipal.stop()
            te_office.stop()
    results["changed"] = data.changed_count(n)
    return results


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N")
    parser.add_argument("--only", default=",".join(ORDER), help="scenarios to run")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench", help="generated data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    runs = {str(n): measure(n, args.cache, only) for n in sizes}
    result = {"machine": report.machine(), "sizes": runs}
    result["targets"] = report.targets(runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(report.table(result))
    print(f"\nwritten to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
