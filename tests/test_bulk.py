"""hub.store.bulk.execute_many: the same rows as SQLAlchemy's executemany, on both stores."""

import datetime as dt

import pytest
from conftest import BOTH_STORES
from sqlalchemy import bindparam, select, update

from hub.store import schema as t
from hub.store.bulk import execute_many

pytestmark = BOTH_STORES


def rows(n: int, stamp: dt.datetime) -> list[dict]:
    return [
        {
            "id": f"00000000-0000-7000-8000-{i:012d}",
            "entity": "ServiceEpisode",
            "version": 1,
            "content_hash": f"{i:064x}",
            "payload": bytes([i % 256]) * (i + 1),
            "subject_id": None,
            "origin_system": "municipal",
            "created_at": stamp,
            "updated_at": stamp + dt.timedelta(seconds=i % 2),
        }
        for i in range(n)
    ]


def test_insert_and_update_match_what_sqlalchemy_would_store(store):
    stamp = dt.datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=dt.UTC)
    expected = rows(40, stamp)
    with store.transaction() as conn:
        execute_many(conn, t.records.insert(), expected)
    with store.transaction() as conn:
        got = [dict(r._mapping) for r in conn.execute(select(t.records).order_by(t.records.c.id))]
    assert len(got) == 40
    for want, have in zip(expected, got, strict=True):
        assert have["payload"] == want["payload"] and have["content_hash"] == want["content_hash"]
        # timestamps come back as the same instant whatever the backend stores
        assert have["updated_at"].replace(tzinfo=dt.UTC) == want["updated_at"]

    later = stamp + dt.timedelta(days=1)
    statement = (
        update(t.records)
        .where(t.records.c.id == bindparam("rid"))
        .values(
            version=t.records.c.version + 1,  # a value bound in the statement itself
            content_hash=bindparam("content_hash"),
            updated_at=later,
        )
    )
    with store.transaction() as conn:
        execute_many(
            conn, statement, [{"rid": r["id"], "content_hash": "f" * 64} for r in expected[:10]]
        )
    with store.transaction() as conn:
        changed = conn.execute(
            select(t.records.c.version, t.records.c.content_hash, t.records.c.updated_at).where(
                t.records.c.version == 2
            )
        ).all()
    assert len(changed) == 10
    assert {h for _, h, _ in changed} == {"f" * 64}
    assert {u.replace(tzinfo=dt.UTC) for _, _, u in changed} == {later}


def test_nothing_to_do(store):
    with store.transaction() as conn:
        execute_many(conn, t.records.insert(), [])
        assert conn.execute(select(t.records)).first() is None


def test_rolls_back_with_its_transaction(store):
    stamp = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        execute_many(conn, t.records.insert(), rows(5, stamp))
        raise RuntimeError("crash before commit")
    with store.transaction() as conn:
        assert conn.execute(select(t.records)).first() is None
