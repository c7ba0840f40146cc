"""How the ``hub`` command shows things: tables (or JSON with ``--json``) on stdout, progress
on stderr."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # piped into a file or another program: do not fold the table to 80 columns, unless
    # the width is asked for (COLUMNS, as a shell sets it)
    width = None if stream.isatty() else _columns() or 400
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def _columns() -> int | None:
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and int(text) > 0 else None


def when(value: dt.datetime | None, *, seconds: bool = True) -> str | None:
    """A time as the CLI prints it, with its zone: the store keeps UTC (SQLite gives it
    back without a zone, which is UTC all the same)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    shown = value.astimezone(dt.UTC)
    return shown.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def emit(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    headers: Sequence[str],
    *,
    cut: Mapping[str, int] | None = None,
) -> None:
    """``rows`` as a table of ``headers`` (JSON, every key, with ``--json``). On a terminal
    (or with ``COLUMNS`` set) the ``cut`` columns share what room the others leave, in the
    ratio given, cut short with an ellipsis: each row is one line that fits. Otherwise every
    column folds."""
    if getattr(args, "json", False):
        print_json(rows)
        return
    if not rows:
        print("(none)")
        return
    from rich import box
    from rich.table import Table

    out = console()
    fit = bool(cut) and (out.file.isatty() or _columns() is not None)
    widths = _share(out.width, rows, headers, cut) if cut and fit else {}
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for h in headers:
        numeric = all(isinstance(r.get(h), int | float) for r in rows)
        justify = "right" if numeric else "left"
        if h in widths:
            table.add_column(h, overflow="ellipsis", no_wrap=True, width=widths[h])
        elif fit:
            table.add_column(h, justify=justify, no_wrap=True)
        else:
            table.add_column(h, justify=justify, overflow="fold")
    for r in rows:
        table.add_row(*("" if r.get(h) is None else str(r.get(h)) for h in headers))
    out.print(table)


def _share(
    width: int, rows: list[dict[str, Any]], headers: Sequence[str], cut: Mapping[str, int]
) -> dict[str, int]:
    """The widths of the ``cut`` columns: what the others leave of ``width`` (three spaces
    between columns): each its header, then the rest shared in the ratio asked, none wider
    than its longest value; what one does not need goes to the next."""
    natural = {
        h: max(len(h), *(len("" if r.get(h) is None else str(r.get(h))) for r in rows))
        for h in headers
    }
    room = width - 3 * (len(headers) - 1) - sum(n for h, n in natural.items() if h not in cut)
    widths = {h: min(natural[h], len(h)) for h in cut}
    spare, total = room - sum(widths.values()), sum(cut.values())
    for h in cut:  # beyond its header, each its share of the room
        widths[h] = min(natural[h], widths[h] + max(0, spare) * cut[h] // total)
    for h in cut:  # and what another did not need, to the columns that can use it
        widths[h] = min(natural[h], widths[h] + max(0, room - sum(widths.values())))
    return widths


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def progress(total: int | None = None):
    """A progress display on stderr, a bar when the ``total`` is known (silent when stderr
    is not a terminal). Add tasks to it, with their descriptions."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(*columns, TimeElapsedColumn(), console=console(stderr=True), transient=True)


class ProgressHandler(logging.Handler):
    """Shows a run's progress: the phase and its running counts, summed over the engine's
    batches (``extra={"progress": (phase, BatchStats)}`` on its log records; counts only,
    no personal data), e.g. ``extract: 12 000 read · 11 980 new or changed · 20 failed``."""

    SHOWN = {
        "extract": (("read", "read"), ("upserted", "new or changed"), ("failed", "failed")),
        "deliver": (("delivered", "delivered"), ("skipped", "skipped"), ("failed", "failed")),
    }

    def __init__(self, show):
        super().__init__(logging.INFO)
        self.show = show
        self.totals: dict[str, dict[str, int]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = getattr(record, "progress", None)
        if not found:
            return
        phase, stats = found
        totals = self.totals.setdefault(phase, {})
        for name, _ in self.SHOWN[phase]:
            totals[name] = totals.get(name, 0) + getattr(stats, name)
        shown = " · ".join(
            f"{totals[n]:,} {label}".replace(",", " ") for n, label in self.SHOWN[phase]
        )
        self.show(f"{phase}: {shown}")
