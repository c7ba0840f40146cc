"""Migrations carry existing data over, on SQLite and PostgreSQL: a store written by an
earlier release is upgraded in place, and downgraded back, without losing a row."""

import datetime as dt

import pytest
from alembic import command
from conftest import BOTH_STORES
from sqlalchemy import create_engine, inspect, text

from hub.store.db import alembic_config, migrate

pytestmark = BOTH_STORES

STAMP = dt.datetime(2026, 11, 20, 3, 30, tzinfo=dt.UTC)
PSEUDONYMS = ["a" * 64, "0123456789abcdef" * 4]
NATIVE_KEY = "fedcba9876543210" * 4
BASIS = "Act on Rehabilitative Work Activity (189/2001)"


@pytest.fixture
def engine(store_url):
    engine = create_engine(store_url)
    yield engine
    engine.dispose()


def _write_0002(conn) -> None:
    """Rows as release 0002 wrote them: pseudonyms on every row, purpose on every row."""
    for i, subject in enumerate([*PSEUDONYMS, None]):
        conn.execute(
            text(
                "INSERT INTO records (id, entity, version, content_hash, payload, subject,"
                " origin_system, created_at, updated_at) VALUES (:id, 'ServiceEpisode', 1,"
                " :h, :p, :s, 'municipal', :at, :at)"
            ),
            {"id": f"r{i}", "h": "0" * 64, "p": b"\x01", "s": subject, "at": STAMP},
        )
    conn.execute(
        text(
            "INSERT INTO identity_map (system, entity, native_key, native_id, record_id,"
            " created_at) VALUES ('municipal', 'ServiceEpisode', :k, :n, 'r0', :at)"
        ),
        {"k": NATIVE_KEY, "n": b"\x02", "at": STAMP},
    )
    for rid, subject in [("r0", PSEUDONYMS[0]), ("r1", PSEUDONYMS[1]), (None, None)]:
        conn.execute(
            text(
                "INSERT INTO access_log (at, actor, action, subject, record_id, exchange,"
                " purpose) VALUES (:at, 'exchange:x', 'receive', :s, :r, 'x', :p)"
            ),
            {"at": STAMP, "s": subject, "r": rid, "p": f"received under: {BASIS}"},
        )
    conn.execute(
        text(
            "INSERT INTO access_log (at, actor, action, subject, record_id, exchange, purpose)"
            " VALUES (:at, 'dashboard:olli', 'reveal', :s, 'r0', NULL, 'asked by the client')"
        ),
        {"at": STAMP + dt.timedelta(hours=1), "s": PSEUDONYMS[0]},
    )
    for rid, subject, outcome in [("r0", PSEUDONYMS[0], "ok"), ("r1", PSEUDONYMS[1], "sending")]:
        conn.execute(
            text(
                "INSERT INTO disclosure_log (at, exchange, target_system, legal_basis,"
                " record_id, subject, fields, idempotency_key, outcome) VALUES (:at, 'x',"
                " 'te_office', :b, :r, :s, 'client_hetu,status', :k, :o)"
            ),
            {"at": STAMP, "b": BASIS, "r": rid, "s": subject, "k": f"x:{rid}:v1", "o": outcome},
        )


def _rows(conn, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(sql))]


def test_0003_moves_people_and_log_purposes_out_of_every_row_and_back(engine):
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
        _write_0002(conn)
    migrate(engine)  # to head

    with engine.connect() as conn:
        subjects = {bytes(p).hex(): i for p, i in _rows(conn, "SELECT pseudonym, id FROM subjects")}
        assert set(subjects) == set(PSEUDONYMS)  # kept as bytes now
        assert [bytes(k).hex() for (k,) in _rows(conn, "SELECT native_key FROM identity_map")] == [
            NATIVE_KEY
        ]
        a, b = subjects[PSEUDONYMS[0]], subjects[PSEUDONYMS[1]]
        assert _rows(conn, "SELECT id, subject_id FROM records ORDER BY id") == [
            ("r0", a),
            ("r1", b),
            ("r2", None),
        ]
        # one event per (when, who, what, why); a row per record read, in the old order
        assert _rows(
            conn,
            "SELECT e.actor, e.action, e.purpose, l.subject_id, l.record_id FROM access_log l"
            " JOIN access_events e ON e.id = l.event_id ORDER BY l.id",
        ) == [
            ("exchange:x", "receive", f"received under: {BASIS}", a, "r0"),
            ("exchange:x", "receive", f"received under: {BASIS}", b, "r1"),
            ("exchange:x", "receive", f"received under: {BASIS}", None, None),
            ("dashboard:olli", "reveal", "asked by the client", a, "r0"),
        ]
        assert _rows(conn, "SELECT count(*) FROM access_events") == [(2,)]
        assert _rows(
            conn,
            "SELECT d.target_system, d.legal_basis, l.record_id, l.subject_id, l.fields,"
            " l.idempotency_key, l.outcome FROM disclosure_log l"
            " JOIN disclosures d ON d.id = l.disclosure_id ORDER BY l.id",
        ) == [
            ("te_office", BASIS, "r0", a, "client_hetu,status", "x:r0:v1", "ok"),
            ("te_office", BASIS, "r1", b, "client_hetu,status", "x:r1:v1", "sending"),
        ]
        assert _rows(conn, "SELECT count(*) FROM disclosures") == [(1,)]

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    with engine.connect() as conn:
        assert _rows(conn, "SELECT id, subject FROM records ORDER BY id") == [
            ("r0", PSEUDONYMS[0]),
            ("r1", PSEUDONYMS[1]),
            ("r2", None),
        ]
        assert _rows(conn, "SELECT action, subject, record_id FROM access_log ORDER BY id") == [
            ("receive", PSEUDONYMS[0], "r0"),
            ("receive", PSEUDONYMS[1], "r1"),
            ("receive", None, None),
            ("reveal", PSEUDONYMS[0], "r0"),
        ]
        assert _rows(
            conn, "SELECT legal_basis, subject, outcome FROM disclosure_log ORDER BY id"
        ) == [(BASIS, PSEUDONYMS[0], "ok"), (BASIS, PSEUDONYMS[1], "sending")]
        assert _rows(conn, "SELECT native_key FROM identity_map") == [(NATIVE_KEY,)]
    migrate(engine)  # and up again


def _letter(conn, ref: str, status: str, note: str | None) -> int:
    conn.execute(
        text(
            "INSERT INTO dead_letters (exchange, stage, system, stream, native_ref,"
            " error_class, reason, status, note, created_at, updated_at) VALUES ('x',"
            " 'validate', 'te_office', 'service_periods', :ref, 'rule', 'days_per_week',"
            " :status, :note, :at, :at)"
        ),
        {"ref": ref, "status": status, "note": note, "at": STAMP},
    )
    return conn.execute(text("SELECT max(id) FROM dead_letters")).scalar_one()


def test_0011_makes_letters_that_failed_again_superseded_by_the_next_and_back(engine):
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0010")
        # release 0010 closed a letter whose record failed again as resolved, with no link
        first = _letter(conn, "te_office/SP-1", "resolved", "superseded by a later failure")
        second = _letter(conn, "te_office/SP-1", "resolved", "superseded by a later failure")
        third = _letter(conn, "te_office/SP-1", "open", None)
        closed = _letter(conn, "te_office/SP-2", "resolved", "cli:olli: agreed with Kela")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0011")
    with engine.connect() as conn:
        assert _rows(conn, "SELECT id, status, successor_id FROM dead_letters ORDER BY id") == [
            (first, "superseded", second),
            (second, "superseded", third),
            (third, "open", None),
            (closed, "resolved", None),
        ]

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    with engine.connect() as conn:
        assert _rows(conn, "SELECT id, status, note FROM dead_letters ORDER BY id") == [
            (first, "resolved", "superseded by a later failure"),
            (second, "resolved", "superseded by a later failure"),
            (third, "open", None),
            (closed, "resolved", "cli:olli: agreed with Kela"),
        ]
        columns = {c["name"] for c in inspect(conn).get_columns("dead_letters")}
        assert "successor_id" not in columns
    migrate(engine)  # and up again
