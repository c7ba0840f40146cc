"""Time spent in each kind of SQL statement (``BENCH_SQL=DIR``): the store's side of a
profile. py-spy shows the hub waiting in the driver; this says for which statements.

Every statement of every engine of the process is timed from SQLAlchemy's
``before_cursor_execute`` to ``after_cursor_execute`` (the driver's round trip, the server's
work included). The binary COPYs of the PostgreSQL bulk path go to the driver without
SQLAlchemy: :func:`hub.store.pgcopy.copy_rows` is timed instead, as ``COPY <table>``
(the rows' encoding and the server's work). Statements are
grouped by their text with the values' placeholders and IN lists folded, and the summary
gives per kind the calls, the total seconds and the µs a record.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

_FOLD = [
    (re.compile(r"\((?:\s*(?:%s|\?|%\(\w+\)s)\s*,?)+\)"), "(…)"),
    (re.compile(r"(?:\(…\),\s*)+\(…\)"), "(…)…"),
    (re.compile(r"\s+"), " "),
]


def shape(sql: str) -> str:
    """The statement's kind: its text with placeholder lists folded, first 110 characters."""
    for pattern, repl in _FOLD:
        sql = pattern.sub(repl, sql)
    return sql.strip()[:110]


class StatementTimer:
    """Collects (calls, seconds) per statement kind while installed."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def install(self) -> None:
        from hub.store import pgcopy

        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        self._copy_rows = original = pgcopy.copy_rows

        def timed(conn, table, columns, types, rows):
            started = time.perf_counter()
            try:
                return original(conn, table, columns, types, rows)
            finally:
                name = table if isinstance(table, str) else table.name
                total = self.totals[f"COPY {name}"]
                total[0] += 1
                total[1] += time.perf_counter() - started

        pgcopy.copy_rows = timed

    def uninstall(self) -> None:
        from hub.store import pgcopy

        event.remove(Engine, "before_cursor_execute", self._before)
        event.remove(Engine, "after_cursor_execute", self._after)
        pgcopy.copy_rows = self._copy_rows

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_sql_start", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = conn.info["bench_sql_start"].pop()
        total = self.totals[shape(statement)]
        total[0] += 1
        total[1] += time.perf_counter() - started

    def summary(self, records: int, top: int = 25) -> str:
        rows = sorted(self.totals.items(), key=lambda kv: -kv[1][1])
        whole = sum(s for _, s in self.totals.values())
        lines = [
            f"SQL statements: {whole:.2f} s in all, {whole / max(records, 1) * 1e6:.1f} µs a "
            f"record ({records:,} records)",
            "   calls   total s   µs/rec  statement",
        ]
        for text, (calls, seconds) in rows[:top]:
            per = seconds / max(records, 1) * 1e6
            lines.append(f"{int(calls):8d} {seconds:9.2f} {per:8.1f}  {text}")
        return "\n".join(lines) + "\n"

    def write(self, path: Path, records: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.summary(records))
