"""Canonical records and the identity map: batch upsert with versions and content hashes.

A record whose canonical content is unchanged keeps its version and is not queued for
delivery again. A client's canonical id is derived from the pseudonym of the identity code,
so the same person coming from two systems is one record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic_core import PydanticSerializationError, from_json
from sqlalchemy import Connection, select
from uuid_utils import uuid7

from hub.model import CanonicalEntity, Client
from hub.privacy import Keyring
from hub.store import keys as keyed
from hub.store import schema as t
from hub.store import subjects
from hub.store.bulk import RowUpdate, insert_rows, rows_in, update_rows

_CLIENT_NS = uuid.UUID("6f1c2b0e-8a43-4b1e-9a8f-2f4f0c6c9d11")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def canonical_json(entity: CanonicalEntity) -> bytes:
    """The record's canonical JSON (UTF-8, fields in the model's order, no whitespace): the
    stored payload and the input of its content hash."""
    return entity.model_dump_json().encode()


def new_record_id() -> str:
    """A new canonical id: a UUIDv7, time-ordered, so that new records are appended to the
    end of the primary-key index instead of landing on a random page of it."""
    return str(uuid7())


def _context(record_id: str, entity: str) -> bytes:
    return f"{entity}/{record_id}".encode()


class Incoming(NamedTuple):
    """One translated, validated record from a source system."""

    native_id: str
    entity: CanonicalEntity


class Prepared(NamedTuple):
    """A record ready for the store: everything that needs no database is computed (keyed
    pseudonyms, canonical JSON, its keyed hash, the id it gets if it is new and the payload
    encrypted under that id). Plain values, so a batch can be prepared in another process."""

    native_id: str
    #: keyed pseudonym of the native id in the scope system/entity (identity map key)
    native_key: bytes
    #: keyed pseudonym of the client's identity code (None: not about one person)
    subject: bytes | None
    body: bytes
    content_hash: str
    #: the id if the record is new: a UUIDv7, or for a client one derived from the subject
    new_id: str
    #: ``body`` encrypted for ``new_id``
    payload: bytes
    #: the native id encrypted (kept in the identity map when the record is new there)
    native_ct: bytes
    #: ``native_key``, ``subject`` and ``content_hash`` under each previous key of the
    #: keyring (a key rotation: hub.store.keys); empty without previous keys
    previous: tuple = ((), (), ())


#: (record id, entity, version, content hash) of a record version to deliver
Changed = tuple[str, str, int, str]


@dataclass
class UpsertResult:
    inserted: list[Changed] = field(default_factory=list)
    updated: list[Changed] = field(default_factory=list)
    unchanged: int = 0
    #: (native id, record id, subject id) of every record in the batch
    ids: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def changed(self) -> list[Changed]:
        return self.inserted + self.updated


def lookup_native(
    conn: Connection, keys: Keyring, system: str, entity: str, native_ids: Iterable[str]
) -> dict[str, str]:
    """native id -> canonical record id, for those already mapped."""
    scope = f"{system}/{entity}"
    return _lookup_keys(
        conn, system, entity, {keys.pseudonym_bytes(n, scope=scope): n for n in native_ids}
    )


def _lookup_keys(
    conn: Connection, system: str, entity: str, by_key: dict[bytes, str]
) -> dict[str, str]:
    """native id -> record id for the native keys (pseudonyms) of ``by_key`` already mapped."""
    im = t.identity_map.c
    query = select(im.native_key, im.record_id).where(im.system == system, im.entity == entity)
    return {by_key[k]: rid for k, rid in rows_in(conn, query, im.native_key, list(by_key))}


def link_native(
    conn: Connection, keys: Keyring, system: str, entity: str, pairs: Iterable[tuple[str, str]]
) -> None:
    """Record (native id, record id) pairs in the identity map; existing pairs are kept."""
    scope = f"{system}/{entity}"
    keyed = {keys.pseudonym_bytes(n, scope=scope): (n, rid) for n, rid in pairs}
    if not keyed:
        return
    existing = set(_lookup_keys(conn, system, entity, {k: k for k in keyed}))
    context, stamp = scope.encode(), now()
    rows = [
        (system, entity, key, keys.encrypt(native_id.encode(), context=context), rid, stamp)
        for key, (native_id, rid) in keyed.items()
        if key not in existing
    ]
    insert_rows(conn, t.identity_map, rows, _LINK_COLUMNS)


_LINK_COLUMNS = ("system", "entity", "native_key", "native_id", "record_id", "created_at")


def native_ids_for(
    conn: Connection, keys: Keyring, system: str, entity: str, record_ids: Sequence[str]
) -> dict[str, str]:
    """record id -> native id in ``system`` (decrypted), for records already known there."""
    im = t.identity_map.c
    # by (record id, system) only: a record id names one entity, and with the entity in the
    # condition SQLite would walk the primary key of every (system, entity) link instead
    query = select(im.record_id, im.native_id).where(im.system == system)
    context = f"{system}/{entity}".encode()
    return {
        rid: keys.decrypt(bytes(blob), context=context).decode()
        for rid, blob in rows_in(conn, query, im.record_id, list(record_ids))
    }


def prepare(
    keys: Keyring,
    system: str,
    items: Sequence[Incoming],
    on_error: Callable[[str, Exception], None] | None = None,
) -> list[Prepared]:
    """Compute what storing ``items`` needs without the database (see :class:`Prepared`).
    The same record twice in ``items``: the later one wins. A record whose canonical JSON
    cannot be written (text UTF-8 cannot hold) is given to ``on_error`` with the error and
    left out; without ``on_error`` the error is raised."""
    latest: dict[str, CanonicalEntity] = {}
    for native_id, entity in items:
        latest[native_id] = entity
    out = []
    pseudonym, content_hash, encrypt = keys.pseudonym_bytes, keys.content_hash, keys.encrypt
    scopes: dict[str, str] = {}
    rotating = bool(keys.previous)
    for native_id, entity in latest.items():
        name = entity.entity_name
        scope = scopes.get(name) or scopes.setdefault(name, f"{system}/{name}")
        context = scope.encode()
        code = entity.subject()
        subject = pseudonym(code) if code else None
        if isinstance(entity, Client):  # the same person from any system is one client
            new_id = str(uuid.uuid5(_CLIENT_NS, subject.hex()))
        else:
            new_id = new_record_id()
        try:
            body = canonical_json(entity)
        except PydanticSerializationError as exc:
            if on_error is None:
                raise
            on_error(native_id, exc)
            continue
        out.append(
            Prepared(
                native_id,
                pseudonym(native_id, scope=scope),
                subject,
                body,
                content_hash(body),
                new_id,
                encrypt(body, context=_context(new_id, name)),
                encrypt(native_id.encode(), context=context),
                keyed.previous_forms(keys, native_id, scope, code, body, name)
                if rotating
                else ((), (), ()),
            )
        )
    return out


_RECORD_COLUMNS = (
    "id",
    "entity",
    "version",
    "content_hash",
    "payload",
    "subject_id",
    "origin_system",
    "created_at",
    "updated_at",
)


_UPDATE_COLUMNS = ("version", "content_hash", "payload", "origin_system", "updated_at")
#: a new version of a record (rows: id, then the columns)
_UPDATE = RowUpdate(t.records, ("id",), _UPDATE_COLUMNS)
#: ... whose person changed too
_UPDATE_WITH_SUBJECT = RowUpdate(t.records, ("id",), (*_UPDATE_COLUMNS, "subject_id"))


def upsert(conn: Connection, keys: Keyring, system: str, items: Sequence[Incoming]) -> UpsertResult:
    """Insert new records, bump the version of changed ones, skip unchanged ones."""
    if not items:
        return UpsertResult()
    return apply(conn, keys, system, items[0].entity.entity_name, prepare(keys, system, items))


def apply(
    conn: Connection, keys: Keyring, system: str, entity: str, prepared: Sequence[Prepared]
) -> UpsertResult:
    """Store prepared records of ``entity`` from ``system``: insert the new ones, bump the
    version of changed ones, leave unchanged ones alone. Later duplicates win."""
    result = UpsertResult()
    if not prepared:
        return result
    latest = {p.native_id: p for p in prepared}
    if len(latest) < len(prepared):
        prepared = list(latest.values())
    by_key = {p.native_key: p.native_id for p in prepared}
    if keys.previous:  # a key rotation: the old keys' native keys too, in the same query
        by_key = {k: p.native_id for p in prepared for k in (p.native_key, *p.previous[0])}
    mapped = _lookup_keys(conn, system, entity, by_key)
    record_id = [mapped.get(p.native_id, p.new_id) for p in prepared]

    # a record may exist already when it was mapped, or when its id is derived (a client)
    could_exist = [rid for p, rid in zip(prepared, record_id, strict=True) if p.native_id in mapped]
    if entity == Client.entity_name:
        could_exist = record_id
    r = t.records.c
    current: dict[str, tuple[int, str, int | None]] = {
        rid: (v, h, subject)
        for rid, v, h, subject in rows_in(
            conn, select(r.id, r.version, r.content_hash, r.subject_id), r.id, could_exist
        )
    }

    stamp = now()
    created: set[bytes] = set()
    previous = (
        {p.subject: p.previous[1] for p in prepared if p.previous[1]} if keys.previous else None
    )
    subject_ids = subjects.ids_for(conn, (p.subject for p in prepared), stamp, previous, created)
    if entity == Client.entity_name:  # a client stored before a key rotation: by the person
        keyed.adopt_clients(conn, entity, prepared, record_id, current, subject_ids, created)
    inserts, updates, moved, new_links = [], [], [], []
    ids = result.ids
    for p, rid in zip(prepared, record_id, strict=True):
        subject_id = subject_ids[p.subject] if p.subject else None
        ids.append((p.native_id, rid, subject_id))
        if p.native_id not in mapped:
            new_links.append((system, entity, p.native_key, p.native_ct, rid, stamp))
        found = current.get(rid)
        if found is None:
            payload = (
                p.payload
                if rid == p.new_id
                else keys.encrypt(p.body, context=_context(rid, entity))
            )
            inserts.append(
                (rid, entity, 1, p.content_hash, payload, subject_id, system, stamp, stamp)
            )
            current[rid] = (1, p.content_hash, subject_id)
            result.inserted.append((rid, entity, 1, p.content_hash))
        elif found[1] != p.content_hash and found[1] not in p.previous[2]:
            version = found[0] + 1
            row = (
                rid,
                version,
                p.content_hash,
                keys.encrypt(p.body, context=_context(rid, entity)),
                system,
                stamp,
            )
            # an unchanged subject is not written: SQLite would rewrite its index entry
            if found[2] == subject_id:
                updates.append(row)
            else:
                moved.append((*row, subject_id))
            current[rid] = (version, p.content_hash, subject_id)
            result.updated.append((rid, entity, version, p.content_hash))
        else:
            result.unchanged += 1
    if inserts or updates or moved or new_links or created:
        keyed.check_current(conn, keys)  # not with a key a rotation has replaced
    insert_rows(conn, t.records, inserts, _RECORD_COLUMNS)
    update_rows(conn, _UPDATE, updates)
    update_rows(conn, _UPDATE_WITH_SUBJECT, moved)
    insert_rows(conn, t.identity_map, new_links, _LINK_COLUMNS)
    return result


@dataclass(frozen=True)
class StoredRecord:
    id: str
    entity: str
    version: int
    content_hash: str
    subject_id: int | None
    data: dict


def decrypt_row(keys: Keyring, record_id: str, entity: str, payload: bytes) -> dict:
    """The canonical data of a stored row. Callers that show or send it must log the access."""
    return from_json(keys.decrypt(bytes(payload), context=_context(record_id, entity)))


def load(conn: Connection, keys: Keyring, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
    """Decrypt records by id. Callers that show or send the data must log the access."""
    r = t.records.c
    query = select(r.id, r.entity, r.version, r.content_hash, r.subject_id, r.payload)
    out: dict[str, StoredRecord] = {}
    for rid, entity, version, digest, subject_id, payload in rows_in(
        conn, query, r.id, list(record_ids)
    ):
        out[rid] = StoredRecord(
            rid, entity, version, digest, subject_id, decrypt_row(keys, rid, entity, payload)
        )
    return out


def iter_entity(
    conn: Connection, keys: Keyring, entity: str, chunk: int = 1000
) -> Iterable[StoredRecord]:
    """Every record of ``entity``, decrypted, in id order, ``chunk`` rows per query.
    Callers must log the access (see :func:`hub.store.audit.log_access`)."""
    after = ""
    while True:
        rows = conn.execute(
            select(
                t.records.c.id,
                t.records.c.version,
                t.records.c.content_hash,
                t.records.c.subject_id,
                t.records.c.payload,
            )
            .where(t.records.c.entity == entity, t.records.c.id > after)
            .order_by(t.records.c.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        for rid, version, digest, subject, payload in rows:
            yield StoredRecord(
                rid, entity, version, digest, subject, decrypt_row(keys, rid, entity, payload)
            )
        after = rows[-1][0]
