"""How the ``hub`` command shows things: tables (or JSON with ``--json``) on stdout, progress
on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # piped into a file or another program: do not fold the table to 80 columns
    width = None if stream.isatty() else 400
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def emit(args: argparse.Namespace, rows: list[dict[str, Any]], headers: Sequence[str]) -> None:
    """``rows`` as a table of ``headers`` (JSON, every key, with ``--json``)."""
    if getattr(args, "json", False):
        print_json(rows)
        return
    if not rows:
        print("(none)")
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for h in headers:
        numeric = all(isinstance(r.get(h), int | float) for r in rows)
        table.add_column(h, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        table.add_row(*("" if r.get(h) is None else str(r.get(h)) for h in headers))
    console().print(table)


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
    """Shows the engine's latest batch message (counts only, no personal data) as progress."""

    def __init__(self, show):
        super().__init__(logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        self.show(record.getMessage()[:120])
