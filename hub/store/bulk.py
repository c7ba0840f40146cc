"""Writing and reading many rows at once, at the speed of the database.

- :func:`insert_rows` and :func:`update_rows` (a :class:`RowUpdate`): the store's bulk
  writes. On PostgreSQL a binary ``COPY`` and, for updates, one ``UPDATE … FROM`` a staging
  table (:mod:`hub.store.pgcopy`); on SQLite, where a statement costs no round trip, one
  statement run for every row (:func:`execute_many`). Both count what they add for the
  planner's statistics (:mod:`hub.store.statistics`).
- :func:`execute_many`: SQLAlchemy's executemany processes every parameter of every row in
  Python (compiling the parameter dict, converting each timestamp); for the hundreds of
  thousands of rows of one extract that cost more than the database itself. This compiles
  the statement once for the connection's dialect, converts each distinct value of a typed
  column once per call (a batch shares one timestamp), and hands the driver plain tuples.
- :func:`rows_in`: the rows whose key is one of many, 500 keys to a statement.
- :func:`insert_new_returning`: rows new by a key added, in order, their ids returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, LargeBinary, Select, Table, bindparam, update
from sqlalchemy.sql import Executable

from hub.store import pgcopy, statistics


def _processor(bind_type, dialect) -> Callable[[Any], Any] | None:
    """How the dialect converts a value of ``bind_type`` for its driver (None: as it is;
    bytes go to sqlite3 and psycopg as they are)."""
    if isinstance(bind_type, LargeBinary):
        return None
    return bind_type.dialect_impl(dialect).bind_processor(dialect)


def _processors(compiled, dialect) -> dict[str, Callable[[Any], Any]]:
    out = {}
    for name, bind in compiled.binds.items():
        proc = _processor(bind.type, dialect)
        if proc is not None:
            out[name] = proc
    return out


def _convert(values: Sequence[Any], proc) -> Sequence[Any]:
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


def execute_many(
    conn: Connection,
    statement: Executable,
    rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
    columns: Sequence[str] | None = None,
) -> None:
    """Execute ``statement`` (an insert, or an update/delete with ``bindparam``\\ s) once per
    row of ``rows``, in the connection's transaction. Rows are mappings with the same keys,
    or, with ``columns``, tuples of those columns' values in that order (cheaper to build)."""
    if not rows:
        return
    dialect = conn.dialect
    names_given = list(columns) if columns is not None else list(rows[0])
    compiled = statement.compile(dialect=dialect, column_keys=names_given)
    # values bound in the statement itself (``attempts + 1``); None for the rows' columns
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items()}
    processors = _processors(compiled, dialect)
    if columns is not None:
        given = dict(zip(names_given, zip(*rows, strict=True), strict=True))
    else:
        given = {n: [row.get(n) for row in rows] for n in names_given}
    names = list(compiled.positiontup) if compiled.positiontup is not None else list(fixed)
    n = len(rows)
    values = [
        _convert(given[name] if name in given else [fixed[name]] * n, processors.get(name))
        for name in names
    ]
    if compiled.positiontup is not None:
        params: list[Any] = list(zip(*values, strict=True))
    else:
        params = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    conn.exec_driver_sql(str(compiled), params)


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[Sequence[Any]], columns: Sequence[str]
) -> None:
    """Insert new ``rows`` (tuples of ``columns``) into ``table``: one binary ``COPY`` on
    PostgreSQL (:mod:`hub.store.pgcopy`), one statement run for every row on SQLite. A row
    whose key exists fails the whole batch on both."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        pgcopy.insert(conn, table, columns, rows)
    else:
        execute_many(conn, table.insert(), rows, columns)
    statistics.wrote(conn, table.name, len(rows))


#: a :class:`RowUpdate`'s fixed value: the column's own value plus one
PLUS_ONE = ("+", 1)


@dataclass(frozen=True)
class RowUpdate:
    """An update applied to many rows, each found by ``key`` and given its own values of
    ``columns``; ``fixed`` sets further columns the same way for every row (a value, or
    :data:`PLUS_ONE`) and only rows with the values of ``only`` are changed. Of rows with the
    same key the last is applied. Run by :func:`update_rows`: on PostgreSQL a staging table and one
    ``UPDATE … FROM``, on SQLite a statement per row."""

    table: Table
    key: tuple[str, ...]
    columns: tuple[str, ...]
    fixed: tuple[tuple[str, Any], ...] = ()
    only: tuple[tuple[str, Any], ...] = ()

    def statement(self):
        """The statement run for each row (bind parameters ``b_<column>``)."""
        c = self.table.c
        where = [c[k] == bindparam(f"b_{k}") for k in self.key]
        where += [c[name] == value for name, value in self.only]
        values = {name: bindparam(f"b_{name}") for name in self.columns}
        for name, value in self.fixed:
            values[name] = c[name] + 1 if value is PLUS_ONE else value
        return update(self.table).where(*where).values(values)


def update_rows(conn: Connection, spec: RowUpdate, rows: Sequence[Sequence[Any]]) -> None:
    """Apply :class:`RowUpdate` ``spec`` to ``rows``: tuples of its key's and then its
    columns' values."""
    if not rows:
        return
    width = len(spec.key)
    latest = {tuple(row[:width]): row for row in rows}  # the last row of a key wins
    if len(latest) < len(rows):
        rows = list(latest.values())
    if conn.dialect.name != "postgresql":
        names = [f"b_{n}" for n in (*spec.key, *spec.columns)]
        execute_many(conn, spec.statement(), rows, names)
        return
    quote = conn.dialect.identifier_preparer.quote
    params: dict[str, Any] = {}
    fixed = []
    for i, (name, value) in enumerate(spec.fixed):
        if value is PLUS_ONE:
            fixed.append(f"{quote(name)} = t.{quote(name)} + 1")
        else:
            params[f"f{i}"] = value
            fixed.append(f"{quote(name)} = :f{i}")
    pgcopy.update(
        conn,
        spec.table,
        spec.key,
        spec.columns,
        rows,
        fixed=", ".join(fixed),
        only=spec.only,
        params=params,
    )


def rows_in(
    conn: Connection,
    query: Select,
    column: ColumnElement,
    values: Sequence[Any],
    *,
    size: int = 500,
) -> Iterator[tuple]:
    """The rows of ``query`` whose ``column`` is one of ``values``, as plain tuples.

    Asked ``size`` values at a time with one statement compiled once (the last chunk is
    padded with its last value), and read as the driver gives them: what SQLAlchemy would
    do for each of thousands of lookups — render the expanded IN list, process each row —
    costs more than the index lookups themselves. For keys, ids and codes (values that need
    no conversion)."""
    if not values:
        return
    names = [f"in_{i}" for i in range(size)]
    compiled = query.where(column.in_([bindparam(n) for n in names])).compile(dialect=conn.dialect)
    sql, params = str(compiled), dict(compiled.params)
    order = compiled.positiontup
    for start in range(0, len(values), size):
        chunk = list(values[start : start + size])
        chunk += chunk[-1:] * (size - len(chunk))
        params.update(zip(names, chunk, strict=True))
        args = tuple(params[n] for n in order) if order is not None else params
        yield from conn.exec_driver_sql(sql, args).fetchall()


def insert_new_returning(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: Sequence[str],
    key: str,
    *,
    size: int = 1000,
) -> list[tuple]:
    """Insert ``rows`` (tuples of ``columns``) that are new by ``key`` and return
    ``returning`` of those inserted: ``INSERT … VALUES (…), (…) ON CONFLICT (key) DO NOTHING
    RETURNING …``, ``size`` rows to a statement (SQLite and PostgreSQL). A row another
    transaction inserted first is skipped and not returned."""
    if not rows:
        return []
    statistics.wrote(conn, table.name, len(rows))
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(columns)) + ")"
    head = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(c) for c in columns)}) VALUES "
    )
    tail = (
        f" ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {', '.join(quote(c) for c in returning)}"
    )
    procs = [_processor(table.c[name].type, dialect) for name in columns]
    columns_of_rows = zip(*rows, strict=True)
    values = [_convert(list(col), proc) for col, proc in zip(columns_of_rows, procs, strict=True)]
    flat_rows = list(zip(*values, strict=True))
    out: list[tuple] = []
    for start in range(0, len(flat_rows), size):
        part = flat_rows[start : start + size]
        params = tuple(v for row in part for v in row)
        sql = head + ", ".join([group] * len(part)) + tail
        out.extend(tuple(r) for r in conn.exec_driver_sql(sql, params).fetchall())
    return out
