"""The machine, the table and the targets of issue 5 (peak memory: the PSS of the
scenario's processes together, :mod:`bench.memory`)."""

from __future__ import annotations

import os
import platform
import sqlite3
from typing import Any

LABELS = {
    "floor": "floor: streaming parse + plain SQLite upsert",
    "dlt": "dlt: same parser, merge on key into SQLite",
    "hub_full": "hub: full extract (adapter, model, crypto, store)",
    "hub_incremental": "hub: incremental re-sync, 1 % changed",
    "hub_deliver": "hub: delivery of the outbox over HTTP",
}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def _check(name: str, ok: bool, measured: str) -> dict[str, Any]:
    return {"target": name, "met": ok, "measured": measured}


def _speed(dataset: str, n: str, r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    where = f"{dataset}, N={int(n):,}"
    full = r.get("hub_full")
    if full:
        rate = full["rate"]
        out.append(
            _check(f"{where}: full extract >= 40,000 rec/s", rate >= 40_000, f"{rate:,.0f} rec/s")
        )
        if "dlt" in r:
            ratio = rate / r["dlt"]["rate"]
            out.append(_check(f"{where}: full extract >= 3 x dlt", ratio >= 3, f"{ratio:.2f} x"))
        if "floor" in r:
            ratio = rate / r["floor"]["rate"]
            out.append(
                _check(f"{where}: full extract >= 0.4 x floor", ratio >= 0.4, f"{ratio:.2f} x")
            )
        if "hub_incremental" in r:
            ratio = full["seconds"] / r["hub_incremental"]["seconds"]
            out.append(
                _check(
                    f"{where}: incremental (1 % changed) >= 20 x faster than full",
                    ratio >= 20,
                    f"{ratio:.1f} x",
                )
            )
    if "hub_deliver" in r:
        rate = r["hub_deliver"]["rate"]
        out.append(
            _check(f"{where}: delivery >= 10,000 rec/s", rate >= 10_000, f"{rate:,.0f} rec/s")
        )
    return out


def _memory(dataset: str, runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    sizes = sorted(runs, key=int)
    if len(sizes) < 2:
        return []

    def peak(r: dict[str, Any]) -> float:
        return max((r[k]["peak_mib"] for k in r if k.startswith("hub_")), default=0.0)

    small, large = peak(runs[sizes[0]]), peak(runs[sizes[-1]])
    if not small or not large:
        return []
    ratio = large / small
    return [
        _check(
            f"{dataset}, N={int(sizes[-1]):,}: hub peak memory < 300 MB",
            large * 2**20 < 300e6,
            f"{large * 2**20 / 1e6:.0f} MB",
        ),
        _check(
            f"{dataset}: hub peak memory at N={int(sizes[-1]):,} <= 1.2 x at N={int(sizes[0]):,}",
            ratio <= 1.2,
            f"{ratio:.2f} x",
        ),
    ]


def targets(datasets: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for dataset, runs in datasets.items():
        for n, r in runs.items():
            out += _speed(dataset, n, r)
        out += _memory(dataset, runs)
    return out


def table(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}",
        "",
        "| data set | N | scenario | records | wall s | records/s | peak MiB |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for dataset, runs in result["datasets"].items():
        for n, r in runs.items():
            for key, label in LABELS.items():
                if key in r:
                    x = r[key]
                    lines.append(
                        f"| {dataset} | {int(n):,} | {label} | {x['records']:,} | "
                        f"{x['seconds']:.2f} | {x['rate']:,.0f} | {x['peak_mib']:.0f} |"
                    )
    lines += ["", "| target | measured | met |", "|---|---:|:---:|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines)
