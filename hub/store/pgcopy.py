"""PostgreSQL's bulk path: binary ``COPY`` (psycopg 3) into tables and staging tables, and
set-based merges from the staging tables.

A batch of thousands of rows sent as an ``INSERT`` or ``UPDATE`` per row (even pipelined)
costs the server a statement each — parse, bind, execute, a result — and that, not the
rows, was most of the time of a bulk load (profiles in the README's benchmark section).
Here a batch is one ``COPY … FROM STDIN (FORMAT BINARY)``:

- **new rows** (records, identity links, outbox entries, access and disclosure log rows:
  rows whose keys the hub has just made, or looked up in the same transaction) go straight
  into their table. A key another transaction added meanwhile fails the copy as it failed
  the insert: the batch's transaction is rolled back and the run retries it; nothing is
  skipped silently;
- **changes to existing rows** are copied into a temporary staging table of the session
  (its rows gone at commit) and applied by one ``UPDATE … FROM``;
- **rows that may exist already** (the people of a batch) are copied into a staging table,
  the missing ones added by one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` in the order
  given and the ids of all read by one join (:func:`ensure`).

Everything runs in the caller's transaction: a process killed during a copy or a merge
leaves nothing of the batch behind (the crash tests kill inside this path). A driver error
is raised as SQLAlchemy raises the same error of a statement (``IntegrityError`` for a
duplicate key...), and a lock wait that runs out becomes :class:`hub.errors.StoreBusy` as
everywhere else (:func:`hub.store.db.translate`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    text,
)
from sqlalchemy.exc import DBAPIError

from hub.store import db

#: binary COPY types of the column types the hub's tables use (subclasses first)
_BINARY = (
    (SmallInteger, "int2"),
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Boolean, "bool"),
    (Float, "float8"),
    (LargeBinary, "bytea"),
    (String, "text"),  # Text and String: varchar reads the text type's binary form
    (Date, "date"),
)


def binary_type(column) -> str:
    """The type a value of ``column`` is sent as in a binary COPY."""
    kind = column.type
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    for cls, name in _BINARY:
        if isinstance(kind, cls):
            return name
    raise TypeError(f"no binary COPY type for {column.table.name}.{column.name} ({kind!r})")


def _quoted(conn: Connection, names: Sequence[str]) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return ", ".join(quote(n) for n in names)


@contextlib.contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy raises them for a statement, contention as
    :class:`hub.errors.StoreBusy`. The statement names tables and columns only: the rows
    are never part of an error."""
    driver = conn.connection.driver_connection
    base = type(driver).__module__.split(".")[0]
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != base:
            raise
        busy = db.translate(conn.engine, exc)
        if busy is not None:
            raise busy from exc
        raise DBAPIError.instance(statement, None, exc, Exception) from exc


def copy_rows(
    conn: Connection,
    table: Table | str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Binary ``COPY`` of ``rows`` (tuples of ``columns``, sent as ``types``) into ``table``
    (a table, or a staging table's name) in ``conn``'s transaction."""
    if not rows:
        return
    name = table if isinstance(table, str) else conn.dialect.identifier_preparer.format_table(table)
    statement = f"COPY {name} ({_quoted(conn, columns)}) FROM STDIN (FORMAT BINARY)"
    with (
        _driver_errors(conn, statement),
        conn.connection.driver_connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        copy.set_types(list(types))
        write = copy.write_row
        for row in rows:
            write(row)


def insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence) -> None:
    """New rows straight into ``table``."""
    copy_rows(conn, table, columns, [binary_type(table.c[c]) for c in columns], rows)


def stage(conn: Connection, table: Table, columns: Sequence[str], extra: Sequence = ()) -> str:
    """The name of a temporary staging table with ``columns`` of ``table`` (and ``extra``
    (name, SQL type) columns), empty: made on the session's first use, emptied at every
    commit (``ON COMMIT DELETE ROWS``) and by :func:`clear` after each merge."""
    shape = ",".join([*columns, *(f"{n} {t}" for n, t in extra)])
    name = f"hub_stage_{table.name}_{hashlib.sha1(shape.encode()).hexdigest()[:10]}"
    compiler = conn.dialect.type_compiler_instance
    quote = conn.dialect.identifier_preparer.quote
    definition = [f"{quote(c)} {compiler.process(table.c[c].type)}" for c in columns]
    definition += [f"{quote(n)} {sql_type}" for n, sql_type in extra]
    # every time (a catalog lookup): a CREATE remembered per session would be wrong after
    # the rollback of the transaction that made it
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({', '.join(definition)}) "
        "ON COMMIT DELETE ROWS"
    )
    return name


def clear(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"TRUNCATE {name}")


def _analyze(conn: Connection, name: str) -> None:
    """Statistics of a filled staging table: autovacuum never sees temporary tables, and
    without them the planner takes the batch for a row or two and joins it to the whole
    table by scanning both (seconds a batch, measured: the README's benchmark section)."""
    conn.exec_driver_sql(f"ANALYZE {name}")


def update(
    conn: Connection,
    table: Table,
    key: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    fixed: str = "",
    only: Sequence[tuple[str, Any]] = (),
    params: dict[str, Any] | None = None,
) -> int:
    """Apply ``rows`` (tuples of ``key`` and then ``columns``) to ``table`` by one
    ``UPDATE … FROM`` a staging table: each row's ``columns`` set where its ``key`` matches
    and its columns have the values of ``only``. ``fixed``: more assignments (SQL, ``t`` is
    the table; ``params`` their values). The rows updated.

    The values of ``only`` travel in the staging table, so that they are part of the join
    and not a filter on the table: statistics a little old (no row was "sending" when the
    table was analyzed) would have the planner take the table's side for a row or two and
    compare it with every staged row — seconds a batch, growing with the table."""
    if not rows:
        return 0
    names = [*key, *columns]
    expected = [f"hub_only_{name}" for name, _ in only]
    staging = stage(
        conn,
        table,
        names,
        extra=[
            (alias, conn.dialect.type_compiler_instance.process(table.c[name].type))
            for alias, (name, _) in zip(expected, only, strict=True)
        ],
    )
    types = [binary_type(table.c[c]) for c in (*names, *(name for name, _ in only))]
    values = tuple(value for _, value in only)
    copy_rows(conn, staging, [*names, *expected], types, [(*r, *values) for r in rows])
    _analyze(conn, staging)
    quote = conn.dialect.identifier_preparer.quote
    sets = [f"{quote(c)} = s.{quote(c)}" for c in columns]
    if fixed:
        sets.append(fixed)
    match = [f"t.{quote(c)} = s.{quote(c)}" for c in key]
    pairs = zip(expected, only, strict=True)
    match += [f"t.{quote(name)} = s.{alias}" for alias, (name, _) in pairs]
    target = conn.dialect.identifier_preparer.format_table(table)
    result = conn.execute(
        text(
            f"UPDATE {target} AS t SET {', '.join(sets)} FROM {staging} AS s "
            f"WHERE {' AND '.join(match)}"
        ),
        params or {},
    )
    clear(conn, staging)
    return result.rowcount


def ensure(
    conn: Connection,
    table: Table,
    key: str,
    rows: Sequence[Sequence[Any]],
    columns: Sequence[str],
    id_column: str,
) -> tuple[dict[bytes, int], set[bytes]]:
    """The ids of ``rows`` (tuples of ``columns``, the first its ``key``) by key, the rows
    not yet in ``table`` added first, in the order given: (key -> id, the keys added). One
    COPY and two statements for the batch; only rows not found take a new id (a row another
    transaction adds meanwhile is skipped by ``ON CONFLICT`` and found by the join)."""
    if not rows:
        return {}, set()
    staging = stage(conn, table, columns, extra=(("hub_ord", "integer"),))
    types = [*(binary_type(table.c[c]) for c in columns), "int4"]
    copy_rows(conn, staging, [*columns, "hub_ord"], types, [(*r, i) for i, r in enumerate(rows)])
    _analyze(conn, staging)
    quote = conn.dialect.identifier_preparer.quote
    cols, k, ident = _quoted(conn, columns), quote(key), quote(id_column)
    target = conn.dialect.identifier_preparer.format_table(table)
    added = conn.exec_driver_sql(
        f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging} AS s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE t.{k} = s.{k}) "
        f"ORDER BY hub_ord ON CONFLICT ({k}) DO NOTHING RETURNING {k}"
    ).fetchall()
    found = conn.exec_driver_sql(
        f"SELECT t.{k}, t.{ident} FROM {staging} AS s JOIN {target} AS t ON t.{k} = s.{k}"
    ).fetchall()
    clear(conn, staging)
    return {bytes(p): i for p, i in found}, {bytes(p) for (p,) in added}
