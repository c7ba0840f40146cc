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
        "held_back": r.held_back,
        "error": r.error,
    }


def cmd_list(args: argparse.Namespace) -> int:
    from hub.store import runs

    hub = open_hub()
    with hub.store.transaction() as conn:
        rows = [_run_row(r) for r in runs.list_runs(conn, args.exchange, limit=args.limit)]
    headers = [
        "id",
        "exchange",
        "state",
        "started",
        "read",
        "delivered",
        "skipped",
        "failed",
        "held_back",
    ]
    emit(args, rows, headers)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hub.errors import HubError
    from hub.store import heldback, runs

    hub = open_hub()
    with hub.store.transaction() as conn:
        run = runs.get_run(conn, args.id)
        if run is None:
            raise HubError(f"no run {args.id}")
        batches = runs.batches_of(conn, args.id)
        held = heldback.summary(conn, run_id=args.id)
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
            "held_back": b.held_back,
        }
        for b in batches
    ]
    info["held_back_by_rule"] = [h.__dict__ for h in held]
    if args.json:
        print_json(info)
        return 0
    for key, value in info.items():
        if key not in ("batches", "held_back_by_rule") and value is not None:
            print(f"{key:>10}: {value}")
    print()
    emit(args, info["batches"], list(info["batches"][0]) if info["batches"] else ["seq"])
    if held:
        print("\nheld back (the legal basis does not cover them; never sent):")
        print_held(args, held)
    return 0


def print_held(args: argparse.Namespace, held) -> None:
    """What rules held back: whole records, records sent without some items, and why."""
    rows = [
        {
            "exchange": h.exchange,
            "rule": h.rule,
            "records": h.records,
            "parts": h.parts,
            "items": h.items,
            "reason (latest)": h.reason,
        }
        for h in held
    ]
    emit(args, rows, list(rows[0]))


def register(sub) -> None:
    ru = group(sub, "runs", "runs of exchanges")
    rl = leaf(ru, "list", cmd_list, "list runs, newest first")
    rl.add_argument("--exchange", help="only the runs of this exchange")
    rl.add_argument("--limit", type=int, default=30, help="at most this many runs (default 30)")
    rs = leaf(ru, "show", cmd_show, "one run with its batches")
    rs.add_argument("id", help="the run's id (see hub runs list)")
