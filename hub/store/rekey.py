"""The steps of a key rotation (:mod:`hub.privacy.rotation`), one batch at a time.

Each step takes the position after which to go on (None: from the start) and returns the
position of the last row it looked at (None: nothing was left) and what it did, counted by
outcome. A step reads what it rewrites and writes it back only where the row is still as it
was read (``WHERE … = the old value``): a run that changed the row meanwhile wins, and a row
it wrote with an old key is found again by the rotation's check at the end.

- ``subjects``: a person's pseudonym is re-keyed from the identity code one of their records
  holds (a pseudonym cannot be reversed); a person none of whose records holds the code any
  more is *unmatched* and keeps the old key's pseudonym.
- ``identity_map``: the native key is re-keyed from the native id (kept encrypted); an id the
  hub derived from a person's pseudonym (obligations, bill disputes) is derived again.
- ``records``: payload re-encrypted and content hash re-hashed (and the outbox's copy of it).
- the other encrypted columns: re-encrypted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Table, and_, bindparam, delete, select, tuple_, update

from hub.privacy import Keyring
from hub.privacy.crypto import key_id_of
from hub.store import schema as t
from hub.store.bulk import rows_in
from hub.store.keys import derived_scopes

Step = Callable[[Connection, Keyring, list | None, int], tuple[list | None, Counter]]


def _subject_fields() -> dict[str, str]:
    from hub.plugins import entity_registry

    return {name: cls.subject_field for name, cls in entity_registry().items() if cls.subject_field}


def _code_of(keys: Keyring, rid: str, entity: str, payload: bytes, fields: dict) -> str | None:
    """The identity code a stored record holds (None: none)."""
    field = fields.get(entity)
    if not field:
        return None
    data = json.loads(keys.decrypt(bytes(payload), context=f"{entity}/{rid}".encode()))
    code = data.get(field)
    return code if isinstance(code, str) else None


def subjects_step(
    conn: Connection, keys: Keyring, position: list | None, size: int
) -> tuple[list | None, Counter]:
    s, r = t.subjects.c, t.records.c
    after = position[0] if position else 0
    rows = conn.execute(
        select(s.id, s.pseudonym).where(s.id > after).order_by(s.id).limit(size)
    ).all()
    counts: Counter = Counter()
    if not rows:
        return None, counts
    stored = {sid: bytes(p) for sid, p in rows}
    fields = _subject_fields()
    new: dict[int, bytes] = {}
    left = set(stored)
    # a client record holds the code of its person; other records only when that is all
    for only_clients in (True, False):
        if not left:
            break
        query = select(r.subject_id, r.id, r.entity, r.payload)
        query = query.where(r.entity == "Client") if only_clients else query
        for sid, rid, entity, payload in rows_in(conn, query, r.subject_id, sorted(left)):
            if sid not in left:
                continue
            code = _code_of(keys, rid, entity, payload, fields)
            if not code:
                continue
            if stored[sid] == keys.pseudonym_bytes(code):
                counts["current"] += 1
                left.discard(sid)
            elif stored[sid] in keys.previous_pseudonyms(code):
                new[sid] = keys.pseudonym_bytes(code)
                left.discard(sid)
    counts["unmatched"] += len(left)
    taken = {
        bytes(p) for (p,) in rows_in(conn, select(s.pseudonym), s.pseudonym, list(new.values()))
    }
    changes = []
    for sid, pseudonym in new.items():
        if pseudonym in taken:  # the person is in the hub twice: left for an operator
            counts["duplicate"] += 1
        else:
            changes.append({"sid": sid, "old": stored[sid], "new": pseudonym})
    if changes:
        conn.execute(
            update(t.subjects)
            .where(s.id == bindparam("sid"), s.pseudonym == bindparam("old"))
            .values(pseudonym=bindparam("new")),
            changes,
        )
    counts["rekeyed"] += len(changes)
    return [rows[-1][0]], counts


def _derive_again(keys: Keyring, native: str, code: str | None, scope: str | None) -> str:
    """``native`` with the previous keys' pseudonym of ``code`` in it replaced by the
    current key's (an id the hub derived from the person)."""
    if not code or not scope:
        return native
    for older in keys.previous_pseudonyms(code, scope=scope):
        if older.hex() in native:
            return native.replace(older.hex(), keys.pseudonym(code, scope=scope))
    return native


def _taken(conn: Connection, wanted: list[tuple[str, str, bytes]]) -> dict[tuple, str]:
    """(system, entity, native key) -> record id of those of ``wanted`` already mapped."""
    im = t.identity_map.c
    by_scope: dict[tuple[str, str], list[bytes]] = {}
    for system, entity, key in wanted:
        by_scope.setdefault((system, entity), []).append(key)
    out = {}
    for (system, entity), native_keys in by_scope.items():
        query = select(im.native_key, im.record_id).where(im.system == system, im.entity == entity)
        for key, rid in rows_in(conn, query, im.native_key, native_keys):
            out[(system, entity, bytes(key))] = rid
    return out


def identity_step(
    conn: Connection, keys: Keyring, position: list | None, size: int
) -> tuple[list | None, Counter]:
    im, r = t.identity_map.c, t.records.c
    # in record order (a re-keyed row keeps its place; in native-key order it would move)
    order = (im.record_id, im.system, im.entity, im.native_key)
    query = select(im.system, im.entity, im.native_key, im.native_id, im.record_id)
    if position:
        after = (*position[:3], bytes.fromhex(position[3]))
        query = query.where(tuple_(*order) > tuple_(*after))
    rows = conn.execute(query.order_by(*order).limit(size)).all()
    counts: Counter = Counter()
    if not rows:
        return None, counts
    derived, fields = derived_scopes(), _subject_fields()
    wanted = sorted({rid for _, entity, _, _, rid in rows if entity in derived})
    codes = {
        rid: _code_of(keys, rid, entity, payload, fields)
        for rid, entity, payload in rows_in(conn, select(r.id, r.entity, r.payload), r.id, wanted)
    }
    changes, merged, moved = [], [], {}
    for system, entity, key, blob, rid in rows:
        key, blob, scope = bytes(key), bytes(blob), f"{system}/{entity}"
        native = keys.decrypt(blob, context=scope.encode()).decode()
        fresh = _derive_again(keys, native, codes.get(rid), derived.get(entity))
        new_key = keys.pseudonym_bytes(fresh, scope=scope)
        if new_key == key and key_id_of(blob) == keys.key_id:
            counts["current"] += 1
            continue
        if key != new_key and key not in keys.previous_pseudonyms(native, scope=scope):
            counts["unmatched"] += 1  # made with a key the keyring does not hold
            continue
        new_blob = keys.encrypt(fresh.encode(), context=scope.encode())
        changes.append((system, entity, key, blob, rid, new_key, new_blob))
    if changes:
        taken = _taken(conn, [(c[0], c[1], c[5]) for c in changes if c[5] != c[2]])
        rewrite = []
        for system, entity, key, blob, rid, new_key, new_blob in changes:
            other = taken.get((system, entity, new_key)) if new_key != key else None
            if other is None:
                moved[(system, entity, key)] = new_key
                rewrite.append(
                    {"s": system, "e": entity, "k": key, "b": blob, "nk": new_key, "nb": new_blob}
                )
            elif other == rid:  # a run linked it again under the new key meanwhile
                merged.append({"s": system, "e": entity, "k": key})
            else:
                counts["conflict"] += 1
        where = and_(
            im.system == bindparam("s"),
            im.entity == bindparam("e"),
            im.native_key == bindparam("k"),
        )
        if rewrite:
            conn.execute(
                update(t.identity_map)
                .where(where, im.native_id == bindparam("b"))
                .values(native_key=bindparam("nk"), native_id=bindparam("nb")),
                rewrite,
            )
        if merged:
            conn.execute(delete(t.identity_map).where(where), merged)
        counts["rekeyed"] += len(rewrite)
        counts["merged"] += len(merged)
    system, entity, key, _, rid = rows[-1]
    # the last row's key as it is now (re-keyed, it is still the last row done)
    last = moved.get((system, entity, bytes(key)), bytes(key))
    return [rid, system, entity, last.hex()], counts


def records_step(
    conn: Connection, keys: Keyring, position: list | None, size: int
) -> tuple[list | None, Counter]:
    r, o = t.records.c, t.outbox.c
    after = position[0] if position else ""
    rows = conn.execute(
        select(r.id, r.entity, r.version, r.content_hash, r.payload)
        .where(r.id > after)
        .order_by(r.id)
        .limit(size)
    ).all()
    counts: Counter = Counter()
    if not rows:
        return None, counts
    changes = []
    for rid, entity, version, digest, payload in rows:
        payload = bytes(payload)
        if key_id_of(payload) == keys.key_id:
            counts["current"] += 1
            continue
        context = f"{entity}/{rid}".encode()
        body = keys.decrypt(payload, context=context)
        changes.append(
            {
                "rid": rid,
                "v": version,
                "old": payload,
                "old_hash": digest,
                "new": keys.encrypt(body, context=context),
                "hash": keys.content_hash(body),
            }
        )
    if changes:
        conn.execute(
            update(t.records)
            .where(r.id == bindparam("rid"), r.payload == bindparam("old"))
            .values(payload=bindparam("new"), content_hash=bindparam("hash")),
            changes,
        )
        # the outbox's copy of the hash of the version it holds
        conn.execute(
            update(t.outbox)
            .where(
                o.record_id == bindparam("rid"),
                o.version == bindparam("v"),
                o.content_hash == bindparam("old_hash"),
            )
            .values(content_hash=bindparam("hash")),
            changes,
        )
    counts["rekeyed"] += len(changes)
    return [rows[-1][0]], counts


@dataclass(frozen=True)
class Ciphertexts:
    """A step re-encrypting ``column`` of ``table`` (integer primary key ``key``), its
    ciphertexts bound to ``context``."""

    table: Table
    key: Column
    column: Column
    context: bytes

    def __call__(
        self, conn: Connection, keys: Keyring, position: list | None, size: int
    ) -> tuple[list | None, Counter]:
        after = position[0] if position else 0
        rows = conn.execute(
            select(self.key, self.column)
            .where(self.key > after, self.column.is_not(None))
            .order_by(self.key)
            .limit(size)
        ).all()
        counts: Counter = Counter()
        if not rows:
            return None, counts
        changes = []
        for pk, blob in rows:
            blob = bytes(blob)
            if key_id_of(blob) == keys.key_id:
                counts["current"] += 1
                continue
            plain = keys.decrypt(blob, context=self.context)
            changes.append(
                {"pk": pk, "old": blob, "new": keys.encrypt(plain, context=self.context)}
            )
        if changes:
            conn.execute(
                update(self.table)
                .where(self.key == bindparam("pk"), self.column == bindparam("old"))
                .values({self.column.name: bindparam("new")}),
                changes,
            )
        counts["rekeyed"] += len(changes)
        return [rows[-1][0]], counts


def steps() -> dict[str, Step]:
    """The steps of a rotation in their order: pseudonyms first (lookups), then ciphertexts."""
    from hub.store.indicator_releases import CONTEXT as RELEASE_CONTEXT
    from hub.store.outbox import CORRECTION_CONTEXT

    return {
        "subjects": subjects_step,
        "identity_map": identity_step,
        "records": records_step,
        "dead_letters": Ciphertexts(
            t.dead_letters, t.dead_letters.c.id, t.dead_letters.c.payload, b"dead-letter"
        ),
        "outbox": Ciphertexts(t.outbox, t.outbox.c.id, t.outbox.c.correction, CORRECTION_CONTEXT),
        "indicator_releases": Ciphertexts(
            t.indicator_releases,
            t.indicator_releases.c.id,
            t.indicator_releases.c.payload,
            RELEASE_CONTEXT,
        ),
    }
