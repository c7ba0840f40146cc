"""``hub runs``: the runs of exchanges and their batches."""

from __future__ import annotations

import argparse
import re
from typing import Any

from hub.cli.common import group, leaf, open_hub
from hub.cli.output import emit, print_json, when
from hub.errors import HubError

#: how much of a run's id ``runs list`` shows (``runs show`` takes any unique prefix)
SHORT_ID = 8
_PREFIX = re.compile(r"[0-9a-fA-F-]{1,36}")


def _run_row(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "exchange": r.exchange,
        "state": r.state,
        "started": when(r.started_at),
        "finished": when(r.finished_at),
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
    if not (args.wide or args.json):  # the short id is enough for `runs show`
        rows = [{**r, "id": r["id"][:SHORT_ID]} for r in rows]
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


def run_id(conn, prefix: str) -> str:
    """The run whose id is ``prefix`` or starts with it; a :class:`HubError` naming the
    prefix when no run or more than one has it."""
    from sqlalchemy import select

    from hub.store import schema as t

    text = prefix.strip().lower()
    if not _PREFIX.fullmatch(text):
        raise HubError(f"run id {prefix!r}: a run's id is hexadecimal digits and dashes")
    found = list(
        conn.execute(
            select(t.runs.c.id).where(t.runs.c.id.like(f"{text}%")).order_by(t.runs.c.id).limit(6)
        ).scalars()
    )
    if text in found or len(found) == 1:
        return text if text in found else found[0]
    if not found:
        raise HubError(f"no run with an id starting {text!r} (see hub runs list)")
    more = ", …" if len(found) > 5 else ""
    raise HubError(
        f"run id {text!r} is ambiguous: runs {', '.join(found[:5])}{more} start with it;"
        " give more of it"
    )


def cmd_show(args: argparse.Namespace) -> int:
    from hub.store import heldback, runs

    hub = open_hub()
    with hub.store.transaction() as conn:
        found = run_id(conn, args.id)
        run = runs.get_run(conn, found)
        batches = runs.batches_of(conn, found)
        held = heldback.summary(conn, run_id=found)
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
    rl.add_argument("--wide", action="store_true", help="show each run's whole id")
    rs = leaf(ru, "show", cmd_show, "one run with its batches")
    rs.add_argument(
        "id", help="the run's id, or enough of its start to be unique (see hub runs list)"
    )
