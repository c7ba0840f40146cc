"""Keeping PostgreSQL's planner statistics current while a run grows the tables.

PostgreSQL plans every lookup of the store with the statistics of its last ``ANALYZE``.
A table that grew from nothing to a hundred thousand rows within one run still looks empty
to the planner until autovacuum comes round (a minute at the soonest, and only for committed
rows): it then looks an identity-map key up by the first columns of the primary key and
filters the rest, which reads the whole table for every batch — the cost of a bulk load
grows with the square of its size. PostgreSQL's own advice for bulk loads is to run
``ANALYZE`` after them ("Populating a Database"); the hub does it *during* them.

The bulk writes of :mod:`hub.store.bulk` count the rows they add to each table on the
connection (:func:`wrote`); the store takes the count when a transaction commits
(:func:`take`) and :class:`Freshness` analyzes a table once the rows written since it was
last analyzed reach half the rows it had then (and at least :data:`MIN_ROWS`): a load of a
million rows analyzes each table it grows about a dozen times. ``ANALYZE`` runs in a
transaction of its own after the commit and never waits: a table another session holds
(autovacuum, another worker's ``ANALYZE``) is skipped (``SKIP_LOCKED``, PostgreSQL 12 and
later), as that session is refreshing the same statistics. SQLite plans these lookups by
its indexes without statistics: nothing is counted there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import StoreBusy

log = logging.getLogger(__name__)

#: the fewest rows written to a table before it is analyzed again
MIN_ROWS = 5_000
#: analyzed again once the rows written reach this share of the rows it had
GROWTH = 0.5
_KEY = "hub_rows_written"


def wrote(conn: Connection, table: str, rows: int) -> None:
    """Count ``rows`` added to ``table`` in ``conn``'s transaction (PostgreSQL only)."""
    if rows and conn.dialect.name == "postgresql":
        counts = conn.info.setdefault(_KEY, {})
        counts[table] = counts.get(table, 0) + rows


def take(conn: Connection) -> dict[str, int]:
    """The rows counted on ``conn`` since the last take (called as its transaction commits);
    the count starts again."""
    return conn.info.pop(_KEY, None) or {}


def discard(conn: Connection) -> None:
    """Forget what ``conn`` counted (its transaction was rolled back)."""
    conn.info.pop(_KEY, None)


class Freshness:
    """Per store: the rows each table had when last analyzed and those written since."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self.written: dict[str, int] = {}
        self.size: dict[str, float] = {}
        # the store's transactions may commit in several threads (delivery settles in one)
        self._lock = threading.Lock()

    def committed(self, counts: Mapping[str, int]) -> None:
        """Add what a committed transaction wrote; analyze the tables that grew enough."""
        if not self.enabled or not counts:
            return
        with self._lock:
            for table, rows in counts.items():
                self.written[table] = self.written.get(table, 0) + rows
            due = [
                table
                for table, rows in self.written.items()
                if rows >= max(MIN_ROWS, GROWTH * self.size.get(table, 0))
            ]
            if due:
                self.analyze(sorted(due))

    def analyze(self, tables: list[str]) -> None:
        """``ANALYZE`` ``tables`` (names of the hub's own schema, never input) now."""
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {', '.join(tables)}")
                sizes = dict(
                    conn.execute(
                        text(
                            "SELECT relname, reltuples FROM pg_class "
                            "WHERE relname = ANY(:names) AND relnamespace = "
                            "to_regnamespace(current_schema())::oid"
                        ),
                        {"names": tables},
                    ).all()
                )
        except (StoreBusy, SQLAlchemyError) as exc:
            log.debug("statistics of %s not refreshed now: %s", ", ".join(tables), exc)
            return
        for table in tables:
            self.written[table] = 0
            self.size[table] = max(float(sizes.get(table, 0.0)), 0.0)
        log.debug("statistics refreshed: %s", ", ".join(f"{t} ~{self.size[t]:.0f}" for t in tables))
