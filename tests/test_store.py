"""The store on SQLite and PostgreSQL: migrations, versions, hashes, identity map, outbox."""

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import BOTH_STORES
from sqlalchemy import func, inspect, select

from hub.model import Client, ServiceEpisode
from hub.store import outbox, records, runs, subjects
from hub.store import schema as t
from hub.store.db import migrate
from hub.synthetic import person

pytestmark = BOTH_STORES


def client(i: int, **over) -> records.Incoming:
    p = person(1, i)
    data = dict(hetu=p.hetu, first_name=p.first_name, last_name=p.last_name)
    data.update(over)
    return records.Incoming(f"C-{i:06d}", Client(**data))


def test_migrations_match_tables(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == [], f"schema.py and the migrations differ: {diff}"
    migrate(store.engine)  # idempotent
    assert {"records", "outbox", "dead_letters", "disclosure_log"} <= set(
        inspect(store.engine).get_table_names()
    )


def test_upsert_versions_and_unchanged(store):
    with store.transaction() as conn:
        first = records.upsert(conn, store.keys, "te_office", [client(i) for i in range(10)])
    assert len(first.inserted) == 10 and first.unchanged == 0
    with store.transaction() as conn:
        again = records.upsert(conn, store.keys, "te_office", [client(i) for i in range(10)])
    assert again.changed == [] and again.unchanged == 10
    with store.transaction() as conn:
        changed = records.upsert(conn, store.keys, "te_office", [client(3, first_name="Uusi")])
    assert [(v, e) for _, e, v, _ in changed.updated] == [(2, "Client")]
    with store.transaction() as conn:
        loaded = records.load(conn, store.keys, [changed.updated[0][0]])
    assert next(iter(loaded.values())).data["first_name"] == "Uusi"


def test_same_person_from_two_systems_is_one_client(store):
    with store.transaction() as conn:
        a = records.upsert(conn, store.keys, "te_office", [client(1)])
        b = records.upsert(
            conn, store.keys, "municipal", [records.Incoming("M-77", client(1).entity)]
        )
        count = conn.execute(select(func.count()).select_from(t.records)).scalar()
    assert a.ids[0][1] == b.ids[0][1]
    assert count == 1


def test_identity_map_round_trip_and_no_plaintext(store):
    p = person(1, 4)
    with store.transaction() as conn:
        res = records.upsert(
            conn, store.keys, "municipal", [records.Incoming(p.hetu, Client(hetu=p.hetu))]
        )
        rid = res.ids[0][1]
        assert records.lookup_native(conn, store.keys, "municipal", "Client", [p.hetu]) == {
            p.hetu: rid
        }
        assert records.native_ids_for(conn, store.keys, "municipal", "Client", [rid]) == {
            rid: p.hetu
        }
        rows = [tuple(r) for r in conn.execute(select(t.records))] + [
            tuple(r) for r in conn.execute(select(t.identity_map))
        ]
    dump = repr(rows)
    assert p.hetu not in dump and p.hetu.encode() not in b"".join(
        v for row in rows for v in row if isinstance(v, bytes)
    )


def test_outbox_fan_out_and_requeue_on_new_version(store):
    ep = records.Incoming(
        "SP-1",
        ServiceEpisode(
            client_hetu=person(1, 2).hetu,
            service_type="rehabilitative_work_activity",
            status="planned",
            decision_date=dt.date(2026, 1, 1),
        ),
    )
    with store.transaction() as conn:
        res = records.upsert(conn, store.keys, "te_office", [ep])
        assert outbox.enqueue(conn, ["a", "b"], res.changed) == 2
        assert outbox.enqueue(conn, ["a", "b"], res.changed) == 0  # same version: no-op
        item = outbox.next_pending(conn, "a", "ServiceEpisode", 10)[0]
        assert item.idempotency_key.endswith(":v1")
        outbox.mark(conn, [(item.id, outbox.DELIVERED, None)])
        assert outbox.counts(conn, "a") == {"delivered": 1}
        newer = records.upsert(
            conn,
            store.keys,
            "te_office",
            [
                records.Incoming(
                    "SP-1",
                    ep.entity.model_copy(
                        update={"status": "active", "start_date": dt.date(2026, 2, 1)}
                    ),
                )
            ],
        )
        outbox.enqueue(conn, ["a"], newer.changed)
        again = outbox.next_pending(conn, "a", "ServiceEpisode", 10)
    assert [i.idempotency_key.endswith(":v2") for i in again] == [True]


def test_a_record_moved_to_another_person_is_found_under_them(store):
    """A correction of the identity code on a record: the new version is filed under the
    right person, the old one no longer has it; an update that keeps the person keeps it."""
    first, second = person(1, 5).hetu, person(1, 6).hetu

    def episode(hetu: str, days: int) -> records.Incoming:
        return records.Incoming(
            "E-1",
            ServiceEpisode(
                client_hetu=hetu,
                service_type="rehabilitative_work_activity",
                status="planned",
                days_per_week=days,
            ),
        )

    def filed_under(hetu: str) -> set[str]:
        with store.transaction() as conn:
            sid = subjects.id_of(conn, store.keys, hetu)
            rows = conn.execute(select(t.records.c.id).where(t.records.c.subject_id == sid))
            return set(rows.scalars()) if sid else set()

    with store.transaction() as conn:
        rid = records.upsert(conn, store.keys, "municipal", [episode(first, 2)]).ids[0][1]
        records.upsert(conn, store.keys, "municipal", [episode(first, 3)])  # same person
    assert filed_under(first) == {rid}
    with store.transaction() as conn:
        moved = records.upsert(conn, store.keys, "municipal", [episode(second, 3)])
    assert [v for _, _, v, _ in moved.updated] == [3]
    assert filed_under(first) == set() and filed_under(second) == {rid}


def test_cursor_and_run_records(store):
    with store.transaction() as conn:
        run_id = runs.open_run(conn, "x", "manual__1")
        assert runs.open_run(conn, "x", "manual__1") == run_id  # a rerun continues the run
        runs.set_cursor(conn, "x", "clients", "c1")
        runs.set_cursor(conn, "x", "clients", "c2")
        runs.record_batch(conn, run_id, "extract", "clients", runs.BatchStats(read=3, upserted=2))
        runs.record_batch(conn, run_id, "extract", "clients", runs.BatchStats(read=1, failed=1))
        runs.finish_run(conn, run_id, "success")
        assert runs.get_cursor(conn, "x", "clients") == "c2"
        row = runs.get_run(conn, run_id)
        assert (row.read, row.upserted, row.failed, row.state) == (4, 2, 1, "success")
        assert [b.seq for b in runs.batches_of(conn, run_id)] == [1, 2]
