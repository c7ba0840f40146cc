"""``hub runs``: the runs of exchanges and their batches."""

from __future__ import annotations

import argparse
from typing import Any

from hub.cli.common import group, leaf, open_hub
from hub.cli.output import emit, print_json

_WHEN = "%Y-%m-%d %H:%M:%S"


def _run_row(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "exchange": r.exchange,
        "state": r.state,
        "started": r.started_at.strftime(_WHEN),
        "finished": r.finished_at.strftime(_WHEN) if r.finished_at else None,
        "read": r.read,
        "upserted": r.upserted,
        "delivered": r.delivered,
        "skipped": r.skipped,
        "failed": r.failed,
        "error": r.error,
    }


def cmd_list(args: argparse.Namespace) -> int:
    from hub.store import runs

    hub = open_hub()
    with hub.store.transaction() as conn:
        rows = [_run_row(r) for r in runs.list_runs(conn, args.exchange, limit=args.limit)]
    headers = ["id", "exchange", "state", "started", "read", "delivered", "skipped", "failed"]
    emit(args, rows, headers)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hub.errors import HubError
    from hub.store import runs

    hub = open_hub()
    with hub.store.transaction() as conn:
        run = runs.get_run(conn, args.id)
        if run is None:
            raise HubError(f"no run {args.id}")
        batches = runs.batches_of(conn, args.id)
    info = _run_row(run)
    info["batches"] = [
        {
            "seq": b.seq,
            "phase": b.phase,
            "stream": b.stream,
            "read": b.read,
            "upserted": b.upserted,
            "unchanged": b.unchanged,
            "delivered": b.delivered,
            "skipped": b.skipped,
            "failed": b.failed,
        }
        for b in batches
    ]
    if args.json:
        print_json(info)
        return 0
    for key, value in info.items():
        if key != "batches" and value is not None:
            print(f"{key:>10}: {value}")
    print()
    emit(args, info["batches"], list(info["batches"][0]) if info["batches"] else ["seq"])
    return 0


def register(sub) -> None:
    ru = group(sub, "runs", "runs of exchanges")
    rl = leaf(ru, "list", cmd_list, "list runs, newest first")
    rl.add_argument("--exchange", help="only the runs of this exchange")
    rl.add_argument("--limit", type=int, default=30, help="at most this many runs (default 30)")
    rs = leaf(ru, "show", cmd_show, "one run with its batches")
    rs.add_argument("id", help="the run's id (see hub runs list)")
