"""The floor: the shared streaming parse and the store's fastest plain load of the same
fields, nothing validated, pseudonymised, encrypted or logged: what no pipeline of these
records into that store can beat.

- SQLite: an upsert on the key (WAL and synchronous=NORMAL, as the hub's store), one
  transaction per 5 000 rows;
- PostgreSQL: one binary ``COPY ... FROM STDIN`` (psycopg 3, ``write_row``) into a logged
  table with the key as its primary key, in one transaction: COPY is PostgreSQL's bulk
  path, and the binary format spares the server parsing text.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.parsing import COLUMNS, PARSERS


def sqlite_upsert(args: dict[str, Any]) -> dict[str, Any]:
    dataset = args["dataset"]
    key, fields = COLUMNS[dataset]
    columns = (key, *fields)
    db = sqlite3.connect(Path(args["work"]) / "floor.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    cols = ", ".join(f'"{c}" TEXT' for c in fields)
    db.execute(f'CREATE TABLE IF NOT EXISTS {dataset} ("{key}" TEXT PRIMARY KEY, {cols})')
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in fields)
    sql = (
        f"INSERT INTO {dataset} ({names}) VALUES ({marks}) "
        f'ON CONFLICT("{key}") DO UPDATE SET {sets}'
    )
    start, n, batch = time.perf_counter(), 0, []
    for row in PARSERS[dataset](Path(args["full"])):
        batch.append(tuple(row[c] for c in columns))
        if len(batch) >= 5000:
            with db:
                db.executemany(sql, batch)
            n, batch = n + len(batch), []
    with db:
        db.executemany(sql, batch)
    n += len(batch)
    seconds = time.perf_counter() - start
    (stored,) = db.execute(f"SELECT count(*) FROM {dataset}").fetchone()
    db.close()
    return {"records": n, "seconds": seconds, "stored": stored}


def postgresql_copy(args: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    dataset, schema = args["dataset"], args["schema"]
    key, fields = COLUMNS[dataset]
    columns = (key, *fields)
    table = f'"{schema}"."floor_{dataset}"'
    names = ", ".join(f'"{c}"' for c in columns)
    with psycopg.connect(args["pg_url"]) as conn:
        cols = ", ".join(f'"{c}" text' for c in fields)
        conn.execute(f'CREATE TABLE {table} ("{key}" text PRIMARY KEY, {cols})')
        conn.commit()
        start, n = time.perf_counter(), 0
        with conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["text"] * len(columns))
                for row in PARSERS[dataset](Path(args["full"])):
                    copy.write_row(tuple(row[c] for c in columns))
                    n += 1
        conn.commit()
        seconds = time.perf_counter() - start
        (stored,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return {"records": n, "seconds": seconds, "stored": stored}


FLOORS = {"sqlite": sqlite_upsert, "postgresql": postgresql_copy}


def floor(args: dict[str, Any]) -> dict[str, Any]:
    return FLOORS[args["store"]](args)
