"""Executing one statement for many rows at the speed of the database driver.

SQLAlchemy's executemany processes every parameter of every row in Python (compiling the
parameter dict, converting each timestamp); for the hundreds of thousands of rows of one
extract that cost more than the database itself (profile in the README's benchmark notes).
:func:`execute_many` compiles the statement once for the connection's dialect, converts
each distinct value of a typed column once per call (a batch shares one timestamp), and
hands the driver plain tuples or dicts. The statement, the transaction and the
dialect-specific SQL stay SQLAlchemy's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, LargeBinary
from sqlalchemy.sql import Executable


def _processors(compiled, dialect) -> dict[str, Callable[[Any], Any]]:
    out = {}
    for name, bind in compiled.binds.items():
        if isinstance(bind.type, LargeBinary):  # bytes go to sqlite3 and psycopg as they are
            continue
        proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            out[name] = proc
    return out


def _column(rows: Sequence[Mapping[str, Any]], name: str, default: Any, proc) -> list[Any]:
    values = [row.get(name, default) for row in rows]
    if proc is None:
        return values
    memo: dict[Any, Any] = {}  # a batch's timestamps and codes repeat: convert each once
    out = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, dt.date):
            if v not in memo:
                memo[v] = proc(v)
            out.append(memo[v])
        else:
            out.append(proc(v))
    return out


def execute_many(conn: Connection, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute ``statement`` (an insert, or an update/delete with ``bindparam``\\ s) once per
    row of ``rows``, in the connection's transaction. Every row has the same keys."""
    if not rows:
        return
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
    # values bound in the statement itself (``attempts + 1``); None for the rows' columns
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items()}
    processors = _processors(compiled, dialect)
    names = list(compiled.positiontup) if compiled.positiontup is not None else list(fixed)
    columns = [_column(rows, n, fixed[n], processors.get(n)) for n in names]
    if compiled.positiontup is not None:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    conn.exec_driver_sql(str(compiled), params)
