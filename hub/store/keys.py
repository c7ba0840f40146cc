"""The master keys the store knows, and what still needs each of them.

``store_keys`` holds every key ``hub keys rotate`` has seen: the *current* one (everything
new is encrypted, pseudonymised and hashed with it), *retiring* ones (some rows still need
them) and *retired* ones (nothing does). A process whose current key is not the store's
current key is refused before it writes (:func:`check_current`): it would pseudonymise a
person the rotation has re-keyed under the old key and take them for someone new.

While the keyring has previous keys, records coming in are also looked up under those keys
(:func:`previous_forms`, :func:`lookup_subjects`), so a run during a rotation finds
the people, records and unchanged contents it knew; without previous keys none of this runs.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Connection, func, select, update

from hub.errors import ConfigError
from hub.privacy import Keyring
from hub.privacy.crypto import KEY_ENV, PREVIOUS_KEYS_ENV
from hub.store import schema as t
from hub.store.bulk import rows_in

CURRENT, RETIRING, RETIRED = "current", "retiring", "retired"


@dataclass(frozen=True)
class Encrypted:
    """A column of AES-GCM ciphertexts (:meth:`Keyring.encrypt`)."""

    name: str
    column: Column


#: every encrypted column of the store: ``hub keys rotate`` re-encrypts each of them
ENCRYPTED: tuple[Encrypted, ...] = (
    Encrypted("records.payload", t.records.c.payload),
    Encrypted("identity_map.native_id", t.identity_map.c.native_id),
    Encrypted("dead_letters.payload", t.dead_letters.c.payload),
    Encrypted("outbox.correction", t.outbox.c.correction),
    Encrypted("indicator_releases.payload", t.indicator_releases.c.payload),
)


@dataclass(frozen=True)
class KnownKey:
    key_id: bytes
    state: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


def known(conn: Connection) -> dict[bytes, KnownKey]:
    """The keys the store knows, oldest first."""
    k = t.store_keys.c
    rows = conn.execute(
        select(k.key_id, k.state, k.created_at, k.retired_at).order_by(k.created_at)
    ).all()
    return {bytes(r[0]): KnownKey(bytes(r[0]), r[1], r[2], r[3]) for r in rows}


def store_current(conn: Connection) -> bytes | None:
    """The id of the store's current key (None: no rotation has recorded one)."""
    k = t.store_keys.c
    found = conn.execute(select(k.key_id).where(k.state == CURRENT)).scalar()
    return bytes(found) if found is not None else None


def check_current(conn: Connection, keys: Keyring) -> None:
    """Refuse to write with a keyring whose current key is not the store's current key."""
    current = store_current(conn)
    if current is None or current == keys.key_id:
        return
    raise ConfigError(
        f"this process's current master key is {keys.key_id.hex()}, but the store's current "
        f"key is {current.hex()} (a key rotation recorded it): configure the new key as "
        f"{KEY_ENV} (or the Airflow connection 'hub_master_key') and the old one in "
        f"{PREVIOUS_KEYS_ENV}, then run again"
    )


def record_current(conn: Connection, keys: Keyring, stamp: dt.datetime) -> list[bytes]:
    """Make the keyring's current key the store's current key; the store's former current
    key and the keyring's previous keys not known yet become retiring. Returns the ids of
    the keys that are now retiring."""
    k = t.store_keys.c
    have = known(conn)
    for key_id in keys.key_ids:
        if key_id not in have:
            state = CURRENT if key_id == keys.key_id else RETIRING
            conn.execute(t.store_keys.insert().values(key_id=key_id, state=state, created_at=stamp))
    conn.execute(
        update(t.store_keys)
        .where(k.state == CURRENT, k.key_id != keys.key_id)
        .values(state=RETIRING)
    )
    conn.execute(
        update(t.store_keys).where(k.key_id == keys.key_id).values(state=CURRENT, retired_at=None)
    )
    return [i for i, kk in known(conn).items() if kk.state == RETIRING]


def retire(conn: Connection, key_id: bytes, stamp: dt.datetime) -> None:
    k = t.store_keys.c
    conn.execute(
        update(t.store_keys)
        .where(k.key_id == key_id, k.state == RETIRING)
        .values(state=RETIRED, retired_at=stamp)
    )


def ciphertexts_by_key(conn: Connection) -> dict[str, dict[bytes, int]]:
    """Per encrypted column: how many of its ciphertexts each key id made."""
    out = {}
    for enc in ENCRYPTED:
        key_id = func.substr(enc.column, 2, 4)
        rows = conn.execute(
            select(key_id, func.count()).where(enc.column.is_not(None)).group_by(key_id)
        ).all()
        out[enc.name] = {bytes(k): n for k, n in rows}
    return out


# --- lookups under previous keys (only while the keyring has any) ---------------------------


@functools.cache
def derived_scopes() -> dict[str, str]:
    """entity -> scope of the pseudonym of the identity code in the ids the hub derives for
    the records of that entity (its own ends: obligations, bill disputes)."""
    from hub.ends.reconciliation import ID_SCOPE as DISPUTES
    from hub.obligations import ID_SCOPE as OBLIGATIONS

    return {"ActivationPlanObligation": OBLIGATIONS, "BillDispute": DISPUTES}


def previous_forms(
    keys: Keyring, native_id: str, scope: str, code: str | None, body: bytes, entity: str
) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[str, ...]]:
    """A record's native keys, subject pseudonyms and content hashes under each previous
    key. An id the hub derived from the person's pseudonym is derived under each previous
    key too (the identity map holds it so until the rotation re-keys it)."""
    native_keys = keys.previous_pseudonyms(native_id, scope=scope)
    id_scope = derived_scopes().get(entity) if code else None
    mine = keys.pseudonym(code, scope=id_scope) if id_scope else None
    if mine and mine in native_id:
        native_keys += tuple(
            k.pseudonym_bytes(
                native_id.replace(mine, k.pseudonym(code, scope=id_scope)), scope=scope
            )
            for k in keys.previous
        )
    return (
        native_keys,
        keys.previous_pseudonyms(code) if code else (),
        keys.previous_content_hashes(body),
    )


def lookup_subjects(
    conn: Connection, wanted: Sequence[bytes], previous: Mapping[bytes, Sequence[bytes]]
) -> dict[bytes, int]:
    """pseudonym -> subject id of the people ``wanted`` found under the current key's
    pseudonym or, ``previous`` giving its forms under the previous keys, one of those (one
    query: a rotation re-keying a person meanwhile cannot hide them from both)."""
    back = {}
    for cur in wanted:
        back[cur] = cur
        for old in previous.get(cur, ()):
            back.setdefault(old, cur)
    s = t.subjects.c
    found: dict[bytes, int] = {}
    for p, i in rows_in(conn, select(s.pseudonym, s.id), s.pseudonym, list(back)):
        cur = back[bytes(p)]
        if cur == bytes(p) or cur not in found:  # the current key's form first
            found[cur] = i
    return found


def adopt_clients(
    conn: Connection,
    entity: str,
    prepared: Sequence,
    record_id: list[str],
    current: dict[str, tuple[int, str, int | None]],
    subject_ids: dict[bytes, int],
    created: set[bytes],
) -> None:
    """Give each client record about to be inserted (its id not in ``current``) for a person
    known before (not in ``created``) the id of that person's client record, if they have
    one. A client's id is derived from the pseudonym of their identity code, so one stored
    before a key rotation has an id the current key does not derive. Nothing is looked up
    for a person new to the hub."""
    known = {
        i: subject_ids[p.subject]
        for i, (p, rid) in enumerate(zip(prepared, record_id, strict=True))
        if rid not in current and p.subject and p.subject not in created
    }
    if not known:
        return
    r = t.records.c
    query = select(r.subject_id, r.id, r.version, r.content_hash).where(r.entity == entity)
    found = {
        sid: (rid, v, h)
        for sid, rid, v, h in rows_in(conn, query, r.subject_id, list(set(known.values())))
    }
    for i, sid in known.items():
        if sid in found:
            rid, version, digest = found[sid]
            record_id[i] = rid
            current[rid] = (version, digest, sid)
