"""``hub indicators preview``: what the next release of indicators would publish, per
practice model and period, with what is withheld and why (the dashboard's indicator page
shows the same, :mod:`hub.ops.indicators`)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt

from hub.cli.common import actor, group, leaf, open_hub
from hub.cli.output import emit, print_json


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def cmd_preview(args: argparse.Namespace) -> int:
    from hub.ops.indicators import preview

    hub = open_hub()
    try:
        shown = preview(hub, actor=actor(), exchange=args.exchange, today=args.as_of)
    finally:
        hub.close()
    families = [
        f
        for f in shown.families
        if (not args.model or f.practice_model == args.model) and (args.all or f.published)
    ]
    if args.json:
        print_json([dataclasses.asdict(f) for f in families])
        return 0
    for family in families:
        print(
            f"\n{family.practice_model}  {family.period_start}–{family.period_end}"
            f"  [{family.group}]  {family.state}: {family.note}"
        )
        rows = [
            {
                "figure": c.code + (f"/{c.category}" if c.category else ""),
                "municipality": c.municipality or "all",
                "published": c.shown,
                "unit": c.unit,
                "changed": "yes" if c.changed else "",
                "why withheld": c.reason,
            }
            for c in family.cells
            if args.municipalities or c.municipality is None
        ]
        emit(args, rows, ["figure", "municipality", "published", "unit", "changed", "why withheld"])
    print(
        f"\n{len(families)} families as of {shown.as_of} for {shown.exchange}"
        f" ({'all' if args.all else 'released or to be released'})"
    )
    return 0


def register(sub) -> None:
    g = group(sub, "indicators", "the indicators the hub publishes, under disclosure control")
    q = leaf(
        g,
        "preview",
        cmd_preview,
        "what the next release would publish, with what is withheld and why",
    )
    q.add_argument("--model", help="only this practice model")
    q.add_argument("--exchange", help="the publishing exchange (default: the only one)")
    q.add_argument("--all", action="store_true", help="also periods still running or not yet final")
    q.add_argument(
        "--municipalities", action="store_true", help="also the figures per municipality"
    )
    q.add_argument(
        "--as-of", type=_date, default=None, help="as if today were this date (YYYY-MM-DD)"
    )
