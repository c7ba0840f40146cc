"""Canonical records and the identity map: batch upsert with versions and content hashes.

A record whose canonical content is unchanged keeps its version and is not queued for
delivery again. A client's canonical id is derived from the pseudonym of the identity code,
so the same person coming from two systems is one record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic_core import from_json
from sqlalchemy import Connection, bindparam, select, update
from uuid_utils import uuid7

from hub.model import CanonicalEntity, Client
from hub.privacy import Keyring
from hub.store import schema as t
from hub.store.bulk import execute_many

_CLIENT_NS = uuid.UUID("6f1c2b0e-8a43-4b1e-9a8f-2f4f0c6c9d11")
_IN_CHUNK = 500  # bound the size of IN (...) lists


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


@dataclass
class UpsertResult:
    inserted: list[tuple[str, str, int, str]] = field(default_factory=list)  # id, entity, v, hash
    updated: list[tuple[str, str, int, str]] = field(default_factory=list)
    unchanged: int = 0
    #: (native id, record id, subject pseudonym) of every record in the batch
    ids: list[tuple[str, str, str | None]] = field(default_factory=list)

    @property
    def changed(self) -> list[tuple[str, str, int, str]]:
        return self.inserted + self.updated


def _chunks(items: Sequence, size: int = _IN_CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def lookup_native(
    conn: Connection, keys: Keyring, system: str, entity: str, native_ids: Iterable[str]
) -> dict[str, str]:
    """native id -> canonical record id, for those already mapped."""
    scope = f"{system}/{entity}"
    return _lookup_keys(conn, system, entity, {keys.pseudonym(n, scope=scope): n for n in native_ids})


def _lookup_keys(
    conn: Connection, system: str, entity: str, by_key: dict[str, str]
) -> dict[str, str]:
    """native id -> record id for the native keys (pseudonyms) of ``by_key`` already mapped."""
    found: dict[str, str] = {}
    for chunk in _chunks(list(by_key)):
        rows = conn.execute(
            select(t.identity_map.c.native_key, t.identity_map.c.record_id).where(
                t.identity_map.c.system == system,
                t.identity_map.c.entity == entity,
                t.identity_map.c.native_key.in_(chunk),
            )
        )
        found.update({by_key[k]: rid for k, rid in rows})
    return found


def link_native(
    conn: Connection, keys: Keyring, system: str, entity: str, pairs: Iterable[tuple[str, str]]
) -> None:
    """Record (native id, record id) pairs in the identity map; existing pairs are kept."""
    scope = f"{system}/{entity}"
    keyed = [(keys.pseudonym(n, scope=scope), n, rid) for n, rid in pairs]
    if not keyed:
        return
    existing: set[str] = set()
    for chunk in _chunks([k for k, _, _ in keyed]):
        existing.update(
            conn.execute(
                select(t.identity_map.c.native_key).where(
                    t.identity_map.c.system == system,
                    t.identity_map.c.entity == entity,
                    t.identity_map.c.native_key.in_(chunk),
                )
            ).scalars()
        )
    _insert_links(conn, keys, system, entity, [x for x in keyed if x[0] not in existing])


def _insert_links(
    conn: Connection,
    keys: Keyring,
    system: str,
    entity: str,
    keyed: Sequence[tuple[str, str, str]],
) -> None:
    """Insert (native key, native id, record id) rows known to be new to the identity map."""
    context = f"{system}/{entity}".encode()
    stamp = now()
    rows = {
        key: {
            "system": system,
            "entity": entity,
            "native_key": key,
            "native_id": keys.encrypt(native_id.encode(), context=context),
            "record_id": record_id,
            "created_at": stamp,
        }
        for key, native_id, record_id in keyed
    }
    execute_many(conn, t.identity_map.insert(), list(rows.values()))


def native_ids_for(
    conn: Connection, keys: Keyring, system: str, entity: str, record_ids: Sequence[str]
) -> dict[str, str]:
    """record id -> native id in ``system`` (decrypted), for records already known there."""
    out: dict[str, str] = {}
    for chunk in _chunks(list(record_ids)):
        rows = conn.execute(
            select(t.identity_map.c.record_id, t.identity_map.c.native_id).where(
                t.identity_map.c.system == system,
                t.identity_map.c.entity == entity,
                t.identity_map.c.record_id.in_(chunk),
            )
        )
        for rid, blob in rows:
            out[rid] = keys.decrypt(blob, context=f"{system}/{entity}".encode()).decode()
    return out


def upsert(conn: Connection, keys: Keyring, system: str, items: Sequence[Incoming]) -> UpsertResult:
    """Insert new records, bump the version of changed ones, skip unchanged ones."""
    result = UpsertResult()
    if not items:
        return result
    entity = items[0].entity.entity_name
    scope = f"{system}/{entity}"
    latest: dict[str, Incoming] = {}
    for item in items:  # the same record twice in one batch: the later one wins
        latest[item.native_id] = item
    by_key = {keys.pseudonym(n, scope=scope): n for n in latest}
    mapped = _lookup_keys(conn, system, entity, by_key)

    prepared = []
    new_links = []
    for key, native_id in by_key.items():
        item = latest[native_id]
        subject = item.entity.subject()
        pseudonym = keys.pseudonym(subject) if subject else None
        if native_id in mapped:
            record_id = mapped[native_id]
        else:
            if isinstance(item.entity, Client):
                record_id = str(uuid.uuid5(_CLIENT_NS, pseudonym))
            else:
                record_id = new_record_id()
            new_links.append((key, native_id, record_id))
        body = canonical_json(item.entity)
        prepared.append((native_id, record_id, pseudonym, body, keys.content_hash(body)))

    current: dict[str, tuple[int, str]] = {}
    for chunk in _chunks([p[1] for p in prepared]):
        rows = conn.execute(
            select(t.records.c.id, t.records.c.version, t.records.c.content_hash).where(
                t.records.c.id.in_(chunk)
            )
        )
        current.update({rid: (v, h) for rid, v, h in rows})

    stamp = now()
    inserts, updates = [], []
    for _native_id, record_id, pseudonym, body, digest in prepared:
        if record_id not in current:
            payload = keys.encrypt(body, context=_context(record_id, entity))
            inserts.append(
                {
                    "id": record_id,
                    "entity": entity,
                    "version": 1,
                    "content_hash": digest,
                    "payload": payload,
                    "subject": pseudonym,
                    "origin_system": system,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            current[record_id] = (1, digest)
            result.inserted.append((record_id, entity, 1, digest))
        elif current[record_id][1] != digest:
            version = current[record_id][0] + 1
            payload = keys.encrypt(body, context=_context(record_id, entity))
            updates.append(
                {
                    "rid": record_id,
                    "version": version,
                    "content_hash": digest,
                    "payload": payload,
                    "subject": pseudonym,
                    "origin_system": system,
                    "updated_at": stamp,
                }
            )
            current[record_id] = (version, digest)
            result.updated.append((record_id, entity, version, digest))
        else:
            result.unchanged += 1
    execute_many(conn, t.records.insert(), inserts)
    execute_many(
        conn,
        update(t.records)
        .where(t.records.c.id == bindparam("rid"))
        .values(
            version=bindparam("version"),
            content_hash=bindparam("content_hash"),
            payload=bindparam("payload"),
            subject=bindparam("subject"),
            origin_system=bindparam("origin_system"),
            updated_at=bindparam("updated_at"),
        ),
        updates,
    )
    _insert_links(conn, keys, system, entity, new_links)
    result.ids = [(p[0], p[1], p[2]) for p in prepared]
    return result


@dataclass(frozen=True)
class StoredRecord:
    id: str
    entity: str
    version: int
    content_hash: str
    subject: str | None
    data: dict


def load(conn: Connection, keys: Keyring, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
    """Decrypt records by id. Callers that show or send the data must log the access."""
    out: dict[str, StoredRecord] = {}
    for chunk in _chunks(list(record_ids)):
        rows = conn.execute(
            select(
                t.records.c.id,
                t.records.c.entity,
                t.records.c.version,
                t.records.c.content_hash,
                t.records.c.subject,
                t.records.c.payload,
            ).where(t.records.c.id.in_(chunk))
        )
        for rid, entity, version, digest, subject, payload in rows:
            data = from_json(keys.decrypt(payload, context=_context(rid, entity)))
            out[rid] = StoredRecord(rid, entity, version, digest, subject, data)
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
                t.records.c.subject,
                t.records.c.payload,
            )
            .where(t.records.c.entity == entity, t.records.c.id > after)
            .order_by(t.records.c.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        for rid, version, digest, subject, payload in rows:
            data = from_json(keys.decrypt(payload, context=_context(rid, entity)))
            yield StoredRecord(rid, entity, version, digest, subject, data)
        after = rows[-1][0]
