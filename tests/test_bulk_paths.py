"""The store's bulk writes on both stores: binary COPY and staged merges on PostgreSQL
(hub.store.pgcopy), a statement per row on SQLite — the same rows either way, the same
errors, and PostgreSQL's statistics kept current as a run grows the tables."""

import datetime as dt
import threading

import pytest
from conftest import BOTH_STORES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from hub.errors import StoreBusy
from hub.privacy.crypto import generate_master_key, load_keyring
from hub.store import Store, StoreTimeouts, statistics, subjects
from hub.store import schema as t
from hub.store.bulk import PLUS_ONE, RowUpdate, insert_rows, update_rows

STAMP = dt.datetime(2026, 12, 3, 9, 15, 30, 123456, tzinfo=dt.UTC)
OUTBOX = (
    "exchange",
    "record_id",
    "entity",
    "version",
    "content_hash",
    "idempotency_key",
    "status",
    "attempts",
    "last_error",
    "enqueued_at",
    "updated_at",
)
RECORD = ("id", "entity", "version", "content_hash", "payload", "subject_id", "origin_system")


def rid(i: int) -> str:
    return f"00000000-0000-7000-8000-{i:012d}"


def add_records(conn, n: int, start: int = 0) -> None:
    insert_rows(
        conn,
        t.records,
        [
            (rid(i), "ServiceEpisode", 1, f"{i:064x}", b"\x00" + bytes([i % 256]) * i, None, "x")
            + (STAMP, STAMP)
            for i in range(start, start + n)
        ],
        (*RECORD, "created_at", "updated_at"),
    )


def add_outbox(conn, n: int) -> None:
    insert_rows(
        conn,
        t.outbox,
        [
            ("x", rid(i), "ServiceEpisode", 1, "h", f"x:{i}", "sending", 0, None, STAMP, STAMP)
            for i in range(n)
        ],
        OUTBOX,
    )


@BOTH_STORES
def test_rows_come_back_as_written(store):
    with store.transaction() as conn:
        add_records(conn, 30)
    with store.transaction() as conn:
        got = conn.execute(select(t.records).order_by(t.records.c.id)).all()
    assert [r.id for r in got] == [rid(i) for i in range(30)]
    for i, r in enumerate(got):
        assert bytes(r.payload) == b"\x00" + bytes([i % 256]) * i  # NUL bytes, empty tails
        assert r.subject_id is None and r.content_hash == f"{i:064x}"
        assert r.updated_at.replace(tzinfo=dt.UTC) == STAMP  # to the microsecond


@BOTH_STORES
def test_a_duplicate_key_fails_the_batch_and_keeps_nothing_of_it(store):
    with store.transaction() as conn:
        add_records(conn, 5)
    with pytest.raises(IntegrityError), store.transaction() as conn:
        add_records(conn, 10)  # rows 0-4 exist
    with store.transaction() as conn:
        assert conn.execute(select(t.records.c.id)).all() == [(rid(i),) for i in range(5)]


@BOTH_STORES
def test_an_update_applies_each_rows_values_fixed_values_and_its_condition(store):
    with store.transaction() as conn:
        add_records(conn, 6)
        add_outbox(conn, 6)
        conn.execute(t.outbox.update().where(t.outbox.c.record_id == rid(5)).values(status="x"))
    later = STAMP + dt.timedelta(hours=1)
    spec = RowUpdate(
        t.outbox,
        ("record_id",),
        ("status", "last_error"),
        fixed=(("attempts", PLUS_ONE), ("updated_at", later)),
        only=(("status", "sending"),),
    )
    with store.transaction() as conn:
        update_rows(
            conn,
            spec,
            [
                (rid(0), "delivered", None),
                (rid(1), "dead", "HTTP 400: no"),
                (rid(1), "failed", "the last of a key wins"),
                (rid(5), "delivered", None),  # not sending: left alone
            ],
        )
    with store.transaction() as conn:
        got = {
            r.record_id: (r.status, r.last_error, r.attempts, r.updated_at.replace(tzinfo=dt.UTC))
            for r in conn.execute(select(t.outbox))
        }
    assert got[rid(0)] == ("delivered", None, 1, later)
    assert got[rid(1)] == ("failed", "the last of a key wins", 1, later)
    assert got[rid(2)] == ("sending", None, 0, STAMP)
    assert got[rid(5)] == ("x", None, 0, STAMP)


UPDATES = st.lists(
    st.tuples(st.integers(0, 7), st.sampled_from(["pending", "delivered", "dead", "é ü"])),
    max_size=40,
)


@BOTH_STORES
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(updates=UPDATES)
def test_an_update_ends_as_the_rows_applied_one_by_one(store, updates):
    spec = RowUpdate(t.outbox, ("record_id",), ("status",))
    with store.engine.connect() as conn, conn.begin() as tx:
        add_records(conn, 8)
        add_outbox(conn, 8)
        update_rows(conn, spec, [(rid(i), status) for i, status in updates])
        expected = {rid(i): "sending" for i in range(8)}
        for i, status in updates:
            expected[rid(i)] = status
        got = dict(conn.execute(select(t.outbox.c.record_id, t.outbox.c.status)).all())
        tx.rollback()
    assert got == expected


@BOTH_STORES
def test_the_people_of_a_batch_new_ones_added_in_the_order_given(store):
    p = [bytes([i]) * 32 for i in range(6)]
    with store.transaction() as conn:
        first = subjects.ids_for(conn, [p[2]], STAMP)
    created: set[bytes] = set()
    with store.transaction() as conn:
        ids = subjects.ids_for(conn, [p[5], None, p[2], p[0], p[5], p[3]], STAMP, created=created)
    assert ids[p[2]] == first[p[2]]  # known: kept
    assert created == {p[5], p[0], p[3]}
    assert ids[p[2]] < ids[p[5]] < ids[p[0]] < ids[p[3]]  # ids in the order people came
    with store.transaction() as conn:
        assert conn.execute(select(func.count()).select_from(t.subjects)).scalar_one() == 4


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_copy_waiting_for_another_sessions_row_is_store_busy(store_url):
    keys = load_keyring(key=generate_master_key())
    holder = Store(store_url, keys, upgrade=True)
    waiter = Store(store_url, keys, timeouts=StoreTimeouts(lock=0.5))
    held, release = threading.Event(), threading.Event()

    def hold():
        with holder.transaction() as conn:
            add_records(conn, 1, start=7)  # uncommitted: the key is locked
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(StoreBusy, match="lock_timeout|HUB_STORE_LOCK_TIMEOUT"):
            with waiter.transaction() as conn:
                add_records(conn, 3, start=6)  # record 7 waits for the holder
    finally:
        release.set()
        thread.join()
        holder.close()
        waiter.close()


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_statistics_are_refreshed_as_a_run_grows_a_table(store):
    def planner_rows() -> float:
        """The rows PostgreSQL's planner believes records has (-1: never analyzed)."""
        with store.engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT reltuples FROM pg_class WHERE relname = 'records' "
                    "AND relnamespace = to_regnamespace(current_schema())::oid"
                )
            ).scalar_one()

    n = statistics.MIN_ROWS
    with store.transaction() as conn:
        add_records(conn, n - 1)
    assert planner_rows() == -1  # not grown enough yet
    with store.transaction() as conn:
        add_records(conn, 1, start=n)
    assert planner_rows() == n
    with store.transaction() as conn:  # again once as many again (at least MIN_ROWS)
        add_records(conn, n - 20, start=n + 1)
    assert planner_rows() == n
    with pytest.raises(RuntimeError), store.transaction() as conn:
        add_records(conn, n, start=10 * n)
        raise RuntimeError("rolled back: not counted")
    assert planner_rows() == n
    with store.transaction() as conn:
        add_records(conn, 20, start=3 * n)
    assert planner_rows() == 2 * n
