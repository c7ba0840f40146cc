"""``hub failures``: dead letters, the records that failed: list, show, export, replay,
resolve."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hub.cli.common import actor, group, leaf, open_hub
from hub.cli.output import emit, print_json, progress, when
from hub.errors import HubError
from hub.store.deadletter_filter import ANY_STATUS, OPEN, STAGES, STATUSES, DeadLetterFilter

#: the columns ``failures list`` shows by default (80–120 columns; ``--wide``: every one)
NARROW = ["id", "exchange", "stage", "class", "status", "at", "reason"]
WIDE = [
    "id",
    "exchange",
    "system",
    "stream",
    "stage",
    "class",
    "record",
    "field",
    "status",
    "successor",
    "run",
    "at",
    "reason",
]


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
            "system": r.system,
            "stream": r.stream,
            "stage": r.stage,
            "class": r.error_class,
            "record": r.native_ref,
            "field": r.field,
            "status": r.status,
            "successor": r.successor_id,
            "run": r.run_id,
            "at": when(r.created_at, seconds=args.wide or args.json),
            "reason": r.reason,
        }
        for r in letters
    ]
    if args.wide or args.json:
        emit(args, rows, WIDE)
        return 0
    for r in rows:  # the record is in the wide table: one line has room for the reason only
        if r["record"]:
            r["reason"] = r["reason"].removeprefix(f"record {r['record']}, ")
    emit(args, rows, NARROW, cut={"exchange": 1, "reason": 2})
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hub.engine import letters

    if args.reveal and args.reason is None:
        raise HubError("--reveal needs --reason (it is written to the access log)")
    hub = open_hub()
    shown = letters.show(hub, args.id, actor(), reveal=args.reason if args.reveal else None)
    row = shown.row
    if row.successor_id is not None:
        print(
            f"dead letter {row.id} is superseded: its record failed again as"
            f" #{row.successor_id}; act on that one",
            file=sys.stderr,
        )
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
            "superseded_by": row.successor_id,
            "note": row.note,
            "created_at": when(row.created_at),
            "updated_at": when(row.updated_at),
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
        corrected = {args.id[0]: _read_payload(Path(args.payload))}
    hub = open_hub()
    with progress(len(args.id)) as bar:
        task = bar.add_task("replaying", total=len(args.id))
        results = replay(
            hub, args.id, actor=actor(), corrected=corrected, on_each=lambda _: bar.advance(task)
        )
    emit(args, [r.__dict__ for r in results], ["letter_id", "ok", "detail"])
    return 0 if all(r.ok for r in results) else 1


def _read_payload(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HubError(f"--payload {path}: cannot read it: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubError(f"--payload {path}: not JSON: {exc}") from None


def cmd_export(args: argparse.Namespace) -> int:
    """The payload to correct, unmasked: to stdout or a file only its owner can read."""
    from hub.engine import letters

    hub = open_hub()
    payload = letters.export(hub, args.id, actor(), args.reason)
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise HubError(f"--output {out}: cannot write it: {exc.strerror}") from None
    print(
        f"wrote the payload of dead letter {args.id} to {out} (personal data: delete it when"
        f" done); correct it, then: hub failures replay {args.id} --payload {out}",
        file=sys.stderr,
    )
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from hub.engine import letters

    hub = open_hub()
    rows = [r.__dict__ for r in letters.resolve(hub, args.id, actor(), args.note)]
    emit(args, rows, ["letter_id", "ok", "detail"])
    return 0 if all(r["ok"] for r in rows) else 1


PAYLOAD_HELP = (
    "JSON file with the corrected record, for one id: for a record that failed at read,"
    " translate or validate, the source record's own fields as the source sent them (an"
    ' object); for one waiting for a choice (disclose), {"FIELD": [items to report]}. Write'
    " it with `hub failures export ID --output FILE` and edit it. A record that failed at"
    " deliver takes none: correct it at its source."
)


def register(sub) -> None:
    fa = group(sub, "failures", "dead letters")
    fl = leaf(fa, "list", cmd_list, "list failed records")
    fl.add_argument("--exchange", help="only this exchange's")
    fl.add_argument("--stage", choices=STAGES, help="only those that failed at this step")
    fl.add_argument(
        "--status",
        default=OPEN,
        choices=[*STATUSES, ANY_STATUS],
        help="only those in this state (default open; superseded: failed again as a later one)",
    )
    fl.add_argument("--system", help="only those read from or delivered to this system")
    fl.add_argument("--class", dest="error_class", help="error class, e.g. rule, invalid")
    fl.add_argument("--since", help="from this date (YYYY-MM-DD, UTC) or time (ISO 8601)")
    fl.add_argument("--until", help="up to and including this date (or up to this time)")
    fl.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    fl.add_argument(
        "--wide", action="store_true", help="every column, folded (default: one line a record)"
    )
    fs = leaf(fa, "show", cmd_show, "show one failed record (personal data masked)", False)
    fs.add_argument("id", type=int, help="the dead letter's id (see hub failures list)")
    fs.add_argument("--reveal", action="store_true", help="show unmasked (needs --reason)")
    fs.add_argument("--reason", help="why you need the unmasked data (access log)")
    fe = leaf(
        fa,
        "export",
        cmd_export,
        "write a failed record's payload, unmasked, as `replay --payload` takes it",
        False,
    )
    fe.add_argument("id", type=int, help="the dead letter's id (see hub failures list)")
    fe.add_argument(
        "--output", help="write it to this file, readable by you only (default: stdout)"
    )
    fe.add_argument(
        "--reason",
        required=True,
        help="why you need the personal data (10 characters at least; access log)",
    )
    fr = leaf(fa, "replay", cmd_replay, "replay failed records from their failed step")
    fr.add_argument("id", type=int, nargs="+", help="the dead letters' ids")
    fr.add_argument("--payload", help=PAYLOAD_HELP)
    fv = leaf(fa, "resolve", cmd_resolve, "mark failed records resolved, with a note")
    fv.add_argument("id", type=int, nargs="+", help="the dead letters' ids")
    fv.add_argument("--note", required=True, help="how it was resolved")
