"""``hub failures``: dead letters, the records that failed: list, show, replay, resolve."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hub.cli.common import actor, group, leaf, open_hub
from hub.cli.output import emit, print_json, progress
from hub.errors import HubError
from hub.store.deadletter_filter import ANY_STATUS, OPEN, STAGES, STATUSES, DeadLetterFilter


def cmd_list(args: argparse.Namespace) -> int:
    from hub.store import deadletters

    where = DeadLetterFilter.parse(vars(args))
    hub = open_hub()
    with hub.store.transaction() as conn:
        letters = deadletters.list_letters(conn, where, limit=args.limit)
    rows = [
        {
            "id": r.id,
            "exchange": r.exchange,
            "stage": r.stage,
            "class": r.error_class,
            "record": r.native_ref,
            "field": r.field,
            "status": r.status,
            "at": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "reason": r.reason,
        }
        for r in letters
    ]
    emit(args, rows, ["id", "exchange", "stage", "class", "field", "status", "at", "reason"])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hub.engine import letters

    if args.reveal and args.reason is None:
        raise HubError("--reveal needs --reason (it is written to the access log)")
    hub = open_hub()
    shown = letters.show(hub, args.id, actor(), reveal=args.reason if args.reveal else None)
    row = shown.row
    print_json(
        {
            "id": row.id,
            "exchange": row.exchange,
            "run_id": row.run_id,
            "stage": row.stage,
            "system": row.system,
            "stream": row.stream,
            "entity": row.entity,
            "record": row.native_ref,
            "record_id": row.record_id,
            "class": row.error_class,
            "field": row.field,
            "status": row.status,
            "note": row.note,
            "created_at": str(row.created_at),
            "reason": row.reason,
            "payload": shown.payload,
        }
    )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from hub.engine import replay

    corrected = None
    if args.payload:
        if len(args.id) != 1:
            raise HubError("--payload corrects one record: give exactly one id")
        corrected = {args.id[0]: json.loads(Path(args.payload).read_text(encoding="utf-8"))}
    hub = open_hub()
    with progress(len(args.id)) as bar:
        task = bar.add_task("replaying", total=len(args.id))
        results = replay(
            hub, args.id, actor=actor(), corrected=corrected, on_each=lambda _: bar.advance(task)
        )
    emit(args, [r.__dict__ for r in results], ["letter_id", "ok", "detail"])
    return 0 if all(r.ok for r in results) else 1


def cmd_resolve(args: argparse.Namespace) -> int:
    from hub.engine import letters

    hub = open_hub()
    rows = [r.__dict__ for r in letters.resolve(hub, args.id, actor(), args.note)]
    emit(args, rows, ["letter_id", "ok", "detail"])
    return 0 if all(r["ok"] for r in rows) else 1


def register(sub) -> None:
    fa = group(sub, "failures", "dead letters")
    fl = leaf(fa, "list", cmd_list, "list failed records")
    fl.add_argument("--exchange", help="only this exchange's")
    fl.add_argument(
        "--stage",
        choices=STAGES,
        help="only those that failed at this step",
    )
    fl.add_argument(
        "--status",
        default=OPEN,
        choices=[*STATUSES, ANY_STATUS],
        help="only those in this state (default open)",
    )
    fl.add_argument("--system", help="only those read from or delivered to this system")
    fl.add_argument("--class", dest="error_class", help="error class, e.g. rule, invalid")
    fl.add_argument("--since", help="from this date (YYYY-MM-DD, UTC) or time (ISO 8601)")
    fl.add_argument("--until", help="up to and including this date (or up to this time)")
    fl.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    fs = leaf(fa, "show", cmd_show, "show one failed record (personal data masked)", False)
    fs.add_argument("id", type=int, help="the dead letter's id (see hub failures list)")
    fs.add_argument("--reveal", action="store_true", help="show unmasked (needs --reason)")
    fs.add_argument("--reason", help="why you need the unmasked data (access log)")
    fr = leaf(fa, "replay", cmd_replay, "replay failed records from their failed step")
    fr.add_argument("id", type=int, nargs="+", help="the dead letters' ids")
    fr.add_argument("--payload", help="JSON file with the corrected native record (one id)")
    fv = leaf(fa, "resolve", cmd_resolve, "mark failed records resolved, with a note")
    fv.add_argument("id", type=int, nargs="+", help="the dead letters' ids")
    fv.add_argument("--note", required=True, help="how it was resolved")
