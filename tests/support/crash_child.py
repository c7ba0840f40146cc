"""Run an exchange in this process and SIGKILL it at a chosen point (a real kill: no
exception handler, no finally block, no commit runs). Used by tests/test_crash.py.

    python crash_child.py EXCHANGE POINT N

POINT is one of KILL_POINTS; the process kills itself on the N-th time it passes there.
"""

import os
import signal
import sys

from hub.engine import Hub, run_exchange
from hub.store.runs import COMPLETED

passes = {"n": 0}


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def around(module, name: str, nth: int, *, before: bool):
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        passes["n"] += 1
        if before and passes["n"] == nth:
            die()
        result = original(*args, **kwargs)
        if not before and passes["n"] == nth:
            die()
        return result

    setattr(module, name, wrapper)


def copy_dies_midway(pgcopy, nth: int) -> None:
    """The N-th binary COPY dies after sending half its rows (at least one)."""
    original = pgcopy.copy_rows

    def wrapper(conn, table, columns, types, rows):
        passes["n"] += 1
        if passes["n"] != nth:
            return original(conn, table, columns, types, rows)
        half = max(1, len(rows) // 2)

        def rows_then_die():
            for i, row in enumerate(rows):
                if i == half:
                    die()
                yield row
            die()

        return original(conn, table, columns, types, _Sized(rows_then_die(), len(rows)))

    pgcopy.copy_rows = wrapper


class _Sized:
    """An iterator that answers len() and truth as the rows it stands for."""

    def __init__(self, it, n):
        self.it, self.n = it, n

    def __iter__(self):
        return self.it

    def __len__(self):
        return self.n


def install(point: str, nth: int) -> None:
    import hub.engine.deliver as deliver
    import hub.engine.extract as extract
    import hub.store.outbox as outbox
    import hub.store.pgcopy as pgcopy
    import hub.store.records as records
    import hub.store.runs as runs

    if point == "extract-mid-transaction":  # rows written, transaction not committed
        around(records, "apply", nth, before=False)
    elif point == "extract-before-cursor":  # batch written, cursor not yet, not committed
        around(runs, "set_cursor", nth, before=True)
    elif point == "extract-after-commit":  # batches and cursor committed, next not started
        around(extract.StoreWriter, "commit", nth, before=False)
    elif point == "deliver-before-send":  # disclosure log committed, nothing sent
        around(deliver, "send", nth, before=True)
    elif point == "deliver-after-send":  # the target has the batch, the store does not know
        around(deliver, "send", nth, before=False)
    elif point == "deliver-mid-mark":  # outcomes being written, not committed
        around(outbox, "mark", nth, before=False)
    elif point == "copy-mid-stream":  # PostgreSQL: inside a COPY, half its rows sent
        copy_dies_midway(pgcopy, nth)
    elif point == "merge-after-statement":  # PostgreSQL: staged rows merged, not committed
        around(pgcopy, "clear", nth, before=True)
    elif point != "none":
        raise SystemExit(f"unknown kill point {point}")


KILL_POINTS = [
    "extract-mid-transaction",
    "extract-before-cursor",
    "extract-after-commit",
    "deliver-before-send",
    "deliver-after-send",
    "deliver-mid-mark",
    "copy-mid-stream",
    "merge-after-statement",
]

if __name__ == "__main__":
    exchange, point, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
    install(point, nth)
    summary = run_exchange(Hub.open(), exchange)
    print(f"STATE {summary.state} delivered={summary.delivered} failed={summary.failed}")
    # completed (with or without the sandbox's rule breakers as dead letters): 0
    sys.exit(0 if summary.state in COMPLETED else 1)
