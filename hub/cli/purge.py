"""``hub purge``: remove what the retention periods let go (``retention:`` in the exchanges
file); ``--dry-run`` shows what would go and the cutoff dates, removing nothing."""

from __future__ import annotations

import argparse
import datetime as dt

from hub.cli.common import actor, leaf, open_hub
from hub.cli.output import emit, print_json


def _time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def cmd_purge(args: argparse.Namespace) -> int:
    from hub.retention.purge import purge

    hub = open_hub()
    try:
        report = purge(
            hub, at=args.now, dry_run=args.dry_run, batch_size=args.batch_size, actor=actor()
        )
    finally:
        hub.close()
    if args.json:
        print_json(report.as_dict())
        return 0
    counted = "would remove" if report.dry_run else "removed"
    rows = [
        {
            "kind": d.kind,
            "scope": d.scope,
            "kept": d.period,
            "basis": d.basis,
            "changed before": d.before.strftime("%Y-%m-%d %H:%M") if d.before else "",
            counted: d.count,
        }
        for d in report.lines
    ]
    emit(args, rows, ["kind", "scope", "kept", "basis", "changed before", counted])
    total = sum(report.totals().values())
    when = report.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if report.dry_run:
        print(f"\ndry run at {when}: {total} rows would be removed; nothing was")
    else:
        print(f"\npurge {report.purge_id} at {when}: {total} rows removed")
    return 0


def register(sub) -> None:
    q = leaf(
        sub,
        "purge",
        cmd_purge,
        "remove what the retention periods let go (retention: in the exchanges file)",
    )
    q.add_argument(
        "--dry-run", action="store_true", help="show what would go and the cutoffs; remove nothing"
    )
    q.add_argument(
        "--batch-size", type=int, default=500, help="rows removed per transaction (default 500)"
    )
    # the time the periods count back from (tests move the clock); not for operators
    q.add_argument("--now", type=_time, default=None, help=argparse.SUPPRESS)
