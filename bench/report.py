"""The machine, the tables and the targets of issue 17 (peak memory: the PSS of the
scenario's processes together, :mod:`bench.memory`; the PostgreSQL server's own processes
are not among them)."""

from __future__ import annotations

import os
import platform
import sqlite3
from typing import Any

LABELS = {
    "floor": "floor: streaming parse + {load}",
    "dlt": "dlt: same parser, merge on key into {name}",
    "hub_full": "hub: full extract (adapter, model, crypto, store)",
    "hub_incremental": "hub: incremental re-sync, 1 % changed",
    "hub_deliver": "hub: delivery of the outbox over HTTP",
}
LOADS = {"sqlite": "plain SQLite upsert", "postgresql": "binary COPY into PostgreSQL"}
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: (ratio to dlt, ratio to the floor, records/s) the full extract must reach, per store
EXTRACT = {"sqlite": (2.0, None, None), "postgresql": (3.0, 0.4, 40_000)}
INCREMENTAL_SPEEDUP = 20
DELIVERY = 15_000


def _postgresql_version() -> str | None:
    try:
        import psycopg

        from bench.stores import libpq_url, pg_base_url

        with psycopg.connect(libpq_url(pg_base_url()), connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception:  # the machine line only: no server, no version
        return None


def machine(with_postgresql: bool = False) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    out = {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if with_postgresql:
        out["postgresql"] = _postgresql_version()
    return out


def _check(name: str, ok: bool, measured: str) -> dict[str, Any]:
    return {"target": name, "met": ok, "measured": measured}


def _speed(store: str, dataset: str, n: str, r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    where = f"{NAMES[store]}, {dataset}, N={int(n):,}"
    full = r.get("hub_full")
    to_dlt, to_floor, rate_min = EXTRACT[store]
    if full:
        rate = full["rate"]
        if rate_min:
            ok = rate >= rate_min
            out.append(
                _check(f"{where}: full extract >= {rate_min:,} rec/s", ok, f"{rate:,.0f} rec/s")
            )
        if "dlt" in r:
            ratio = rate / r["dlt"]["rate"]
            out.append(_check(f"{where}: full extract >= {to_dlt:g} x dlt", ratio >= to_dlt,
                              f"{ratio:.2f} x"))  # fmt: skip
        if to_floor and "floor" in r:
            ratio = rate / r["floor"]["rate"]
            out.append(_check(f"{where}: full extract >= {to_floor:g} x floor",
                              ratio >= to_floor, f"{ratio:.2f} x"))  # fmt: skip
        if "hub_incremental" in r:
            ratio = full["seconds"] / r["hub_incremental"]["seconds"]
            out.append(_check(f"{where}: incremental (1 % changed) >= "
                              f"{INCREMENTAL_SPEEDUP} x faster than full",
                              ratio >= INCREMENTAL_SPEEDUP, f"{ratio:.1f} x"))  # fmt: skip
    if "hub_deliver" in r:
        rate = r["hub_deliver"]["rate"]
        out.append(_check(f"{where}: delivery >= {DELIVERY:,} rec/s", rate >= DELIVERY,
                          f"{rate:,.0f} rec/s"))  # fmt: skip
    return out


def _memory(store: str, dataset: str, runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    sizes = sorted(runs, key=int)
    if len(sizes) < 2:
        return []

    def peak(r: dict[str, Any]) -> float:
        return max((r[k]["peak_mib"] for k in r if k.startswith("hub_")), default=0.0)

    small, large = peak(runs[sizes[0]]), peak(runs[sizes[-1]])
    if not small or not large:
        return []
    ratio = large / small
    where = f"{NAMES[store]}, {dataset}"
    big, little = f"N={int(sizes[-1]):,}", f"N={int(sizes[0]):,}"
    return [
        _check(
            f"{where}, {big}: hub peak memory < 300 MB",
            large * 2**20 < 300e6,
            f"{large * 2**20 / 1e6:.0f} MB",
        ),  # fmt: skip
        _check(
            f"{where}: hub peak memory at {big} <= 1.2 x at {little}",
            ratio <= 1.2,
            f"{ratio:.2f} x",
        ),  # fmt: skip
    ]


def targets(stores: dict[str, dict[str, dict[str, dict[str, Any]]]]) -> list[dict[str, Any]]:
    out = []
    for store, datasets in stores.items():
        for dataset, runs in datasets.items():
            for n, r in runs.items():
                out += _speed(store, dataset, n, r)
            out += _memory(store, dataset, runs)
    return out


def _ratio(x: dict[str, Any], base: dict[str, Any] | None) -> str:
    return f"{x['rate'] / base['rate']:.2f}" if base and base.get("rate") else ""


def rows(store: str, dataset: str, n: str, r: dict[str, Any]) -> list[str]:
    """The table's rows for one (store, data set, N): each scenario's rate and, measured in
    the same run, its ratio to dlt's and to the floor's."""
    out = []
    for key, label in LABELS.items():
        if key in r:
            x = r[key]
            text = label.format(load=LOADS[store], name=NAMES[store])
            out.append(
                f"| {NAMES[store]} | {dataset} | {int(n):,} | {text} | {x['records']:,} | "
                f"{x['seconds']:.2f} | {x['rate']:,.0f} | {_ratio(x, r.get('dlt'))} | "
                f"{_ratio(x, r.get('floor'))} | {x['peak_mib']:.0f} |"
            )
    return out


def table(result: dict[str, Any]) -> str:
    m = result["machine"]
    pg = f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else ""
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}{pg}",
        "",
        "| store | data set | N | scenario | records | wall s | records/s | × dlt | × floor "
        "| peak MiB |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for store, datasets in result["stores"].items():
        for dataset, runs in datasets.items():
            for n, r in runs.items():
                lines += rows(store, dataset, n, r)
    lines += ["", "| target | measured | met |", "|---|---:|:---:|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines)
