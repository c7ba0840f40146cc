"""Tamper-evident logs: after real runs over the sandboxes ``hub audit verify`` passes and
seals a checkpoint; each kind of tampering done with raw SQL (a row deleted, a legal basis
edited, a row inserted, entries swapped, an outcome edited, the whole chain recomputed
after an edit) is caught by the command with exit 1, naming the place. Appends from two
threads on PostgreSQL leave one valid chain; pruning keeps what remains verifiable; an
upgraded store's rows are chained by the migration."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from alembic import command
from conftest import BOTH_STORES
from sqlalchemy import create_engine, select, text
from support.states import first_run_state

from hub.audit import actions, chain, seal
from hub.audit.verify import verify_store
from hub.cli import main as cli
from hub.engine import Hub, run_exchange
from hub.errors import HubError
from hub.store import Store, audit
from hub.store import schema as t
from hub.store.db import alembic_config, migrate

EXCHANGES = ("employment_authority_to_county", "county_to_employment_authority")


@pytest.fixture
def seal_key(monkeypatch):
    key = seal.SealKey.generate()
    monkeypatch.setenv(seal.SEAL_KEY_ENV, key.seed_hex())
    return key


@pytest.fixture
def logged(hub_env, seal_key):
    """A hub after real runs: access events, disclosures and settlements in the logs."""
    hub = Hub.open()
    for name in EXCHANGES:
        summary = run_exchange(hub, name)
        assert summary.state == first_run_state(name), f"{name}: {summary.error}"
    yield hub
    hub.close()


def verify_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli(["audit", "verify", *args])
    return code, capsys.readouterr().out


def sql(hub, statement: str, **params):
    with hub.store.transaction() as conn:
        return conn.execute(text(statement), params)


def one(hub, statement: str, **params):
    with hub.store.transaction() as conn:
        return conn.execute(text(statement), params).first()


def _problems(capsys) -> tuple[int, list[dict]]:
    code = cli(["audit", "verify", "--json", "--no-checkpoint"])
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is (code == 0)
    return code, report["problems"]


@BOTH_STORES
def test_real_runs_verify_and_a_sealed_checkpoint_is_made(logged, capsys, seal_key):
    with logged.store.transaction() as conn:
        kinds = dict(
            conn.execute(
                select(t.log_chain.c.kind, text("count(*)")).group_by(t.log_chain.c.kind)
            ).all()
        )
        codes = {
            a: c
            for a, c in conn.execute(
                select(t.access_events.c.action, t.access_events.c.action_code)
            )
        }
        disclosure_codes = set(conn.execute(select(t.disclosures.c.action_code)).scalars())
    assert kinds.keys() == {"access", "disclosure", "settlement"}
    assert kinds["disclosure"] == kinds["settlement"]  # each batch logged, then settled
    assert codes["receive"] == actions.code_for("receive") and disclosure_codes == {"3"}

    code, out = verify_cli(capsys)
    assert code == 0, out
    assert "intact" in out and "a sealed checkpoint was made at seq" in out
    head = one(logged, "SELECT max(seq) FROM log_chain")[0]
    cp = one(logged, "SELECT seq, key_id, seal FROM log_checkpoints WHERE kind = 'checkpoint'")
    assert cp.seq == head and cp.key_id == seal_key.key_id and len(bytes(cp.seal)) == 64
    code, out = verify_cli(capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["checkpoints_checked"] == 1 and report["problems"] == []


@BOTH_STORES
def test_a_deleted_disclosure_log_row_is_named(logged, capsys):
    row = one(logged, "SELECT id, disclosure_id FROM disclosure_log ORDER BY id LIMIT 1 OFFSET 2")
    sql(logged, "DELETE FROM disclosure_log WHERE id = :i", i=row.id)
    code, out = verify_cli(capsys)
    assert code == 1 and "TAMPERING DETECTED" in out
    assert f"disclosure_log row {row.id} (chain seq" in out and "missing: deleted" in out
    assert f"a row of disclosure {row.disclosure_id} is missing" in out


@BOTH_STORES
def test_an_edited_legal_basis_is_named(logged, capsys):
    d = one(logged, "SELECT id FROM disclosures ORDER BY id LIMIT 1")
    seq = one(logged, "SELECT seq FROM log_chain WHERE kind = 'disclosure' AND ref_id = :i", i=d.id)
    sql(logged, "UPDATE disclosures SET legal_basis = 'consent' WHERE id = :i", i=d.id)
    code, problems = _problems(capsys)
    assert code == 1
    assert {
        "table": "disclosures",
        "row_id": d.id,
        "seq": seq.seq,
        "what": "legal_basis differs from what was chained",
    } in problems


@BOTH_STORES
def test_an_inserted_access_log_row_is_named(logged, capsys):
    e = one(logged, "SELECT event_id, subject_id FROM access_log ORDER BY id LIMIT 1")
    sql(
        logged,
        "INSERT INTO access_log (event_id, subject_id, record_id) VALUES (:e, :s, 'forged')",
        e=e.event_id,
        s=e.subject_id,
    )
    new = one(logged, "SELECT id FROM access_log WHERE record_id = 'forged'").id
    code, out = verify_cli(capsys)
    assert code == 1
    assert f"access_log row {new} (chain seq" in out and f"event {e.event_id}" in out
    # an event written around the chain is caught too
    sql(
        logged,
        "INSERT INTO access_events (at, actor, action, purpose) "
        "VALUES (:at, 'intruder', 'read', 'curiosity')",
        at=dt.datetime.now(dt.UTC),
    )
    forged = one(logged, "SELECT id FROM access_events WHERE actor = 'intruder'").id
    code, out = verify_cli(capsys)
    assert code == 1 and f"access_events row {forged}: not in the chain: inserted" in out


@BOTH_STORES
def test_swapped_chain_entries_and_swapped_ids_are_caught(logged, capsys):
    a, b = (
        r.seq
        for r in sql(logged, "SELECT seq FROM log_chain WHERE seq IN (2, 3) ORDER BY seq").all()
    )
    names = ["kind", "ref_id", "at", "digest", "detail", "row_tags", "prev_hash", "hash"]
    cols = ", ".join(names)
    insert = (
        f"INSERT INTO log_chain (seq, {cols}) VALUES (:seq, {', '.join(':' + n for n in names)})"
    )
    with logged.store.transaction() as conn:  # entry 2 takes 3's place and 3 takes 2's
        rows = {
            r.seq: r
            for r in conn.execute(text(f"SELECT seq, {cols} FROM log_chain WHERE seq IN (2, 3)"))
        }
        conn.execute(text("DELETE FROM log_chain WHERE seq IN (2, 3)"))
        for seq, src in ((2, rows[3]), (3, rows[2])):
            conn.execute(text(insert), {"seq": seq, **{n: getattr(src, n) for n in names}})
    code, out = verify_cli(capsys)
    assert code == 1
    assert f"log_chain (chain seq {a}): does not follow the entry before it" in out
    assert f"log_chain (chain seq {b}): its hash does not match" in out


@BOTH_STORES
def test_swapped_log_ids_are_caught(logged, capsys):
    """Two access events trade places (their contents swapped under their ids: the rows
    that refer to them cannot move, a foreign key holds them)."""
    cols = ("at", "actor", "action", "action_code", "exchange", "purpose")
    first, second = sql(
        logged, f"SELECT id, {', '.join(cols)} FROM access_events ORDER BY id LIMIT 2"
    ).all()
    with logged.store.transaction() as conn:
        for row, other in ((first, second), (second, first)):
            conn.execute(
                text(
                    f"UPDATE access_events SET {', '.join(f'{c} = :{c}' for c in cols)} "
                    "WHERE id = :id"
                ),
                {"id": row.id, **{c: getattr(other, c) for c in cols}},
            )
    code, out = verify_cli(capsys)
    assert code == 1
    assert f"access_events row {first.id} (chain seq" in out
    assert f"access_events row {second.id} (chain seq" in out
    assert "differs from what was chained" in out


@BOTH_STORES
def test_an_edited_outcome_is_named(logged, capsys):
    row = one(logged, "SELECT id, disclosure_id FROM disclosure_log WHERE outcome = 'ok' LIMIT 1")
    sql(logged, "UPDATE disclosure_log SET outcome = 'failed' WHERE id = :i", i=row.id)
    code, out = verify_cli(capsys)
    assert code == 1
    assert (
        f"disclosure_log row {row.id} (chain seq" in out
        and f"outcome is 'failed' but was settled as 'ok' (disclosure {row.disclosure_id})" in out
    )


@BOTH_STORES
def test_a_chain_recomputed_after_an_edit_is_caught_by_the_sealed_checkpoint(logged, capsys):
    assert verify_cli(capsys)[0] == 0  # seals a checkpoint at the head
    d = one(logged, "SELECT id FROM disclosures ORDER BY id LIMIT 1").id
    sql(logged, "UPDATE disclosures SET legal_basis = 'consent' WHERE id = :i", i=d)
    _recompute_chain(logged)  # what someone with write access but no seal key can do
    code, out = verify_cli(capsys, "--no-checkpoint")
    assert code == 1
    cp = one(logged, "SELECT id, seq FROM log_checkpoints WHERE kind = 'checkpoint'")
    assert (
        f"log_checkpoints row {cp.id} (chain seq {cp.seq}): the chain's hash at seq {cp.seq} "
        f"differs from the checkpoint" in out
    )
    # without the seal key the checkpoint's hash still differs (its seal is not checked)
    code, out = _without_key(capsys)
    assert code == 1 and "UNSEALED" in out and "no checkpoint was checked or made" in out
    # a forged checkpoint (the rewritten head, re-sealed with another key) is refused too
    other = seal.SealKey.generate()
    with logged.store.transaction() as conn:
        seq, hash_ = chain.head(conn)
        conn.execute(text("DELETE FROM log_checkpoints"))
        cid = seal.add_checkpoint(conn, seal.CHECKPOINT, seq, hash_, other)
        conn.execute(
            text("UPDATE log_checkpoints SET key_id = :k WHERE id = :i"),
            {"k": seal.configured_key().key_id, "i": cid},
        )
    code, out = verify_cli(capsys, "--no-checkpoint")
    assert (
        code == 1
        and f"log_checkpoints row {cid} (chain seq {seq}): its seal does not verify" in out
    )


def _without_key(capsys):
    import os

    saved = os.environ.pop(seal.SEAL_KEY_ENV)
    try:
        return verify_cli(capsys, "--no-checkpoint")
    finally:
        os.environ[seal.SEAL_KEY_ENV] = saved


def _recompute_chain(hub) -> None:
    """Rewrite every digest and hash from the tables as they are now."""
    from hub.audit import rows as v

    with hub.store.transaction() as conn:
        entries = conn.execute(
            select(
                t.log_chain.c.seq, t.log_chain.c.kind, t.log_chain.c.ref_id, t.log_chain.c.at
            ).order_by(t.log_chain.c.seq)
        ).all()
        prev = chain.GENESIS
        for e in entries:
            if e.kind == chain.SETTLEMENT:
                digest = bytes(
                    conn.execute(
                        select(t.log_chain.c.digest).where(t.log_chain.c.seq == e.seq)
                    ).scalar_one()
                )
            else:
                shape = v.ACCESS_SHAPE if e.kind == chain.ACCESS else v.DISCLOSURE_SHAPE
                parent = t.metadata.tables[shape.parent]
                child = t.metadata.tables[shape.child]
                owner = child.c.event_id if e.kind == chain.ACCESS else child.c.disclosure_id
                header = conn.execute(
                    select(*(parent.c[f] for f in shape.fields)).where(parent.c.id == e.ref_id)
                ).one()
                rows = conn.execute(
                    select(*(child.c[c] for c in shape.columns)).where(owner == e.ref_id)
                ).all()
                digest = chain.content(e.kind, e.ref_id, shape.fields, list(header), rows).digest
            hash_ = chain.link(prev, e.seq, e.kind, e.ref_id, e.at, digest)
            conn.execute(
                t.log_chain.update()
                .where(t.log_chain.c.seq == e.seq)
                .values(digest=digest, prev_hash=prev, hash=hash_)
            )
            prev = hash_


def test_an_unknown_action_is_a_clear_error(store):
    with store.transaction() as conn, pytest.raises(HubError, match="no action 'peek'.*known:"):
        audit.log_access(conn, "cli:x", "peek", "why", [audit.Access(None, "r1")])


def test_pruning_keeps_the_rest_verifiable(store, seal_key):
    old = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
    with store.transaction() as conn:
        for i in range(3):
            audit.log_access(conn, "cli:x", "read", f"look {i}", [audit.Access(None, f"r{i}")])
        did = audit.log_disclosures(
            conn, "x", "te_office", "a law", [audit.Disclosure("r1", None, ("a",), "k1")]
        )
        audit.settle_disclosures(conn, did, [("k1", "ok")])
        # the first two events are twelve years old
        conn.execute(text("UPDATE log_chain SET at = :at WHERE seq <= 2"), {"at": old})
        conn.execute(text("UPDATE access_events SET at = :at WHERE id <= 2"), {"at": old})
    with store.transaction() as conn:  # their digests cover the time: re-chain them as old
        _rechain(conn)
    assert verify_store(store, seal_key).intact
    with store.transaction() as conn:
        assert chain.prune_logs(conn, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) == 2
    with store.transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM access_events")).scalar() == 1
        anchor = conn.execute(
            text("SELECT seq, seal FROM log_checkpoints WHERE kind = 'anchor'")
        ).one()
    assert anchor.seq == 2 and anchor.seal is not None
    report = verify_store(store, seal_key)
    assert report.intact, report.summary()
    # the chain starts after the anchor; the checkpoint made before pruning still holds
    assert report.first_seq == 3 and report.checkpoints_checked == 2  # it and the anchor
    # a new entry follows on; and an entry deleted after the anchor is still caught
    with store.transaction() as conn:
        audit.log_access(conn, "cli:x", "read", "later", [audit.Access(None, "r9")])
        assert chain.prune_logs(conn, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) == 0
    assert verify_store(store, seal_key).intact
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM log_chain WHERE seq = 3"))
        conn.execute(text("DELETE FROM access_log WHERE event_id = 3"))
        conn.execute(text("DELETE FROM access_events WHERE id = 3"))
    report = verify_store(store, seal_key)
    assert [str(p) for p in report.problems][:1] == [
        "log_chain (chain seq 4): entries 3 are missing: deleted"
    ]


def _rechain(conn) -> None:
    """Recompute the test store's chain (after moving entries back in time)."""
    c = t.log_chain.c
    prev = chain.GENESIS
    for e in conn.execute(select(c.seq, c.kind, c.ref_id, c.at, c.digest).order_by(c.seq)).all():
        digest = bytes(e.digest)
        if e.kind == chain.ACCESS:
            ev = conn.execute(
                select(*(t.access_events.c[f] for f in chain.ACCESS_FIELDS)).where(
                    t.access_events.c.id == e.ref_id
                )
            ).one()
            rows = conn.execute(
                select(t.access_log.c.subject_id, t.access_log.c.record_id).where(
                    t.access_log.c.event_id == e.ref_id
                )
            ).all()
            digest = chain.content(e.kind, e.ref_id, chain.ACCESS_FIELDS, list(ev), rows).digest
        hash_ = chain.link(prev, e.seq, e.kind, e.ref_id, e.at, digest)
        conn.execute(
            t.log_chain.update()
            .where(c.seq == e.seq)
            .values(digest=digest, prev_hash=prev, hash=hash_)
        )
        prev = hash_


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_concurrent_appends_on_postgresql_leave_one_valid_chain(store, store_url):
    errors = []
    barrier = threading.Barrier(2)

    def append(n: int) -> None:
        other = Store(store_url, store.keys)
        try:
            barrier.wait()
            for i in range(25):
                with other.transaction() as conn:
                    audit.log_access(
                        conn, f"cli:t{n}", "read", f"t{n} {i}", [audit.Access(None, f"r{n}-{i}")]
                    )
                    did = audit.log_disclosures(
                        conn,
                        "x",
                        "te_office",
                        "a law",
                        [audit.Disclosure(f"r{n}-{i}", None, ("a",), f"k{n}-{i}")],
                    )
                    audit.settle_disclosures(conn, did, [(f"k{n}-{i}", "ok")])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    report = verify_store(store, None)
    assert report.intact, report.summary()
    assert report.entries == 2 * 25 * 3 and report.head_seq == 150


@BOTH_STORES
def test_an_upgraded_store_has_its_rows_chained_by_the_migration(store_url):
    engine = create_engine(store_url)
    at = dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0005")
        conn.execute(
            text(
                "INSERT INTO access_events (at, actor, action, exchange, purpose) VALUES"
                " (:at, 'exchange:x', 'receive', 'x', 'received'),"
                " (:at, 'dashboard:o', 'reveal', NULL, 'asked by the client')"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO access_log (event_id, subject_id, record_id) VALUES"
                " (1, NULL, 'r1'), (1, NULL, 'r2'), (2, NULL, 'r1')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO disclosures (at, exchange, target_system, legal_basis) VALUES"
                " (:at, 'x', 'te_office', 'a law'), (:at, 'x', 'te_office', 'a law')"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO disclosure_log (disclosure_id, record_id, subject_id, fields,"
                " idempotency_key, outcome) VALUES (1, 'r1', NULL, 'a,b', 'k1', 'ok'),"
                " (1, 'r2', NULL, 'a,b', 'k2', 'failed'), (2, 'r1', NULL, 'a', 'k3', 'sending')"
            )
        )
    migrate(engine)
    engine.dispose()
    from hub.privacy.crypto import generate_master_key, load_keyring

    store = Store(store_url, load_keyring(key=generate_master_key()))
    try:
        with store.transaction() as conn:
            kinds = [
                r.kind for r in conn.execute(select(t.log_chain.c.kind).order_by(t.log_chain.c.seq))
            ]
            codes = (
                conn.execute(select(t.access_events.c.action_code).order_by(t.access_events.c.id))
                .scalars()
                .all()
            )
        assert kinds == ["access", "access", "disclosure", "settlement", "disclosure"]
        assert codes == [actions.code_for("receive"), actions.code_for("reveal")]
        report = verify_store(store, None)
        assert report.intact, report.summary()
        with store.transaction() as conn:
            conn.execute(text("UPDATE disclosure_log SET outcome = 'ok' WHERE id = 3"))
        problems = [str(p) for p in verify_store(store, None).problems]
        assert problems == [
            "disclosure_log row 3 (chain seq 5): outcome is 'ok' but disclosure 2 was never "
            "settled in the chain"
        ]
    finally:
        store.close()


def test_the_daily_verification_checkpoints_then_alerts_and_fails_on_tampering(
    logged, webhook, seal_key
):
    from hub.ops.alerts import LOGS_TAMPERED, AlertSettings
    from hub.ops.auditlog import LogsTampered, due, verify_and_alert

    settings = AlertSettings(webhook_url=f"{webhook.url}/hook")
    assert due(logged)
    report = verify_and_alert(logged, settings)
    assert report.intact and report.checkpoint_made and webhook.received == []
    assert not due(logged)
    assert due(logged, at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))

    row = one(logged, "SELECT id FROM disclosure_log ORDER BY id LIMIT 1").id
    sql(logged, "DELETE FROM disclosure_log WHERE id = :i", i=row)
    with pytest.raises(LogsTampered, match=f"disclosure_log row {row} "):
        verify_and_alert(logged, settings)
    [posted] = webhook.received
    [alert] = posted["alerts"]
    assert alert["kind"] == LOGS_TAMPERED and f"disclosure_log row {row}" in alert["message"]
