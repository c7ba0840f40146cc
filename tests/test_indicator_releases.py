"""The releases of indicators in the store, on SQLite and PostgreSQL: kept per exchange and
family in order, encrypted whole (no figure, token or digest readable in the table), and
re-encrypted by a key rotation like every other ciphertext."""

from __future__ import annotations

import datetime as dt

from conftest import BOTH_STORES
from sqlalchemy import select

from hub.indicators import Inputs, publish
from hub.model import ServiceEpisode
from hub.privacy.crypto import generate_master_key, key_id_of, load_keyring
from hub.store import Store
from hub.store import indicator_releases as ledger
from hub.store import keys as keyed
from hub.store import schema as t
from hub.store.rekey import steps
from hub.synthetic import person

TODAY = dt.date(2026, 9, 1)


def episodes(n: int, outcome: str = "no_change") -> list[ServiceEpisode]:
    return [
        ServiceEpisode(
            client_hetu=person(7, i).hetu,
            service_type="rehabilitative_work_activity",
            start_date=dt.date(2026, 2, 2),
            actual_end_date=dt.date(2026, 5, 29),
            status="ended",
            practice_model="osku-tutkiva-tyotoiminta",
            outcome=outcome if i % 2 else "employment",
        )
        for i in range(n)
    ]


def tokens(hetu: str) -> str:
    return str(1000 + sum(map(ord, hetu)))  # a stand-in for the subject id


@BOTH_STORES
def test_releases_round_trip_encrypted_and_are_rotated(store_url):
    old_key, new_key = generate_master_key(), generate_master_key()
    store = Store(store_url, load_keyring(key=old_key), upgrade=True)
    try:
        _round_trip(store, load_keyring(key=new_key, previous=old_key))
    finally:
        store.close()


def _round_trip(store: Store, newer) -> None:
    first = publish(Inputs(episodes(12)), today=TODAY, person=tokens)
    at = dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC)
    with store.transaction() as conn:
        assert ledger.save_new(conn, store.keys, "hub_to_innokyla", {}, first.released, at) > 0
        assert (
            ledger.save_new(conn, store.keys, "hub_to_innokyla", first.released, first.released, at)
            == 0
        )  # nothing new: nothing stored
        back = ledger.load(conn, store.keys, "hub_to_innokyla")
        assert ledger.load(conn, store.keys, "another_exchange") == {}
        raw = [bytes(p) for p in conn.execute(select(t.indicator_releases.c.payload)).scalars()]
    assert back == first.released
    for blob in raw:
        assert b"osku" not in blob and b"participants" not in blob and b"released" not in blob
        assert key_id_of(blob) == store.keys.key_id

    # a revision is stored after the first release, numbered on
    second = publish(
        Inputs(episodes(24, outcome="education")),
        today=TODAY + dt.timedelta(days=7),
        released=back,
        person=tokens,
    )
    with store.transaction() as conn:
        ledger.save_new(conn, store.keys, "hub_to_innokyla", back, second.released, at)
        seqs = (
            conn.execute(
                select(t.indicator_releases.c.seq)
                .where(t.indicator_releases.c.grp == "main")
                .order_by(t.indicator_releases.c.seq)
            )
            .scalars()
            .all()
        )
        assert set(seqs) == {1, 2}
        counts = keyed.ciphertexts_by_key(conn)["indicator_releases.payload"]
        total = ledger.count(conn)
    assert total > len(raw) and counts == {store.keys.key_id: total}

    # a rotation re-encrypts them under the new key, and they read the same
    step = steps()["indicator_releases"]
    with store.transaction() as conn:
        position, done = step(conn, newer, None, 100)
        while position is not None:
            position, more = step(conn, newer, position, 100)
            done.update(more)
        assert done["rekeyed"] == total
        assert ledger.load(conn, newer, "hub_to_innokyla") == second.released
        assert set(keyed.ciphertexts_by_key(conn)["indicator_releases.payload"]) == {newer.key_id}
