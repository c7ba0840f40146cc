"""The hash chain over the access and disclosure logs.

Every access event (with its ``access_log`` rows), every disclosure (with its
``disclosure_log`` rows) and every settlement of a disclosure's outcomes is one entry of one
chain, ``log_chain``, appended in the transaction that writes the log rows:

- the entry's **digest** is SHA-512 over a canonical encoding of its content: the event's or
  disclosure's columns, then its rows (sorted, so that the order the database hands them back
  in does not matter). A settlement's content is its disclosure and the outcome of each row
  by row id, kept in the entry's ``detail``: a row is settled once (ok, skipped, failed or
  unconfirmed), so the latest settlement of a disclosure states every row's outcome;
- the entry's **hash** is SHA-512 over the previous entry's hash and the entry (sequence
  number, kind, the id it refers to, time, digest), as X-Road's message-log archives chain
  their files. The first entry follows 64 zero bytes, or the anchor left by pruning.

So editing a column of a log row, deleting or inserting a row, or deleting, inserting or
moving a chain entry changes a digest or breaks a link; rewriting the whole chain after an
edit is caught by the sealed checkpoints (:mod:`hub.audit.seal`). ``detail`` and
``row_tags`` (per field a CRC, per row and column two bytes of a CRC) are not trusted: they
only let :mod:`hub.audit.verify` say *what* differs once a digest does not match.

Appends are serialized: on PostgreSQL by ``pg_advisory_xact_lock`` (one key per store: the
schema's), on SQLite by holding the write lock, taken with a write before the chain's head is
read; both last until the transaction ends. Per batch this costs one lock, one read of the
head and one insert, and one pass over the batch's rows in Python.

Stores upgraded from before the chain have their existing rows chained by the migration
(0006), in the order they were written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, text

from hub.store import schema as t

#: the version of the encoding, part of every hash: a later encoding would use another
VERSION = 1
ACCESS, DISCLOSURE, SETTLEMENT = "access", "disclosure", "settlement"
#: what the first entry follows when nothing was pruned
GENESIS = bytes(64)
#: the first half of the PostgreSQL advisory lock key (the second: the store's schema)
LOCK_CLASS = 0x68756201

#: the columns of an event or disclosure, in the order they are encoded
ACCESS_FIELDS = ("at", "actor", "action", "action_code", "exchange", "purpose")
ACCESS_ROW = ("subject_id", "record_id")
DISCLOSURE_FIELDS = ("at", "exchange", "target_system", "legal_basis", "action_code")
DISCLOSURE_ROW = ("record_id", "subject_id", "fields", "idempotency_key", "admitted_by")


def timestamp(value: dt.datetime) -> str:
    """``value`` in UTC to the microsecond (SQLite hands back naive UTC times)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode(value: Any) -> str:
    """One value, self-delimiting: ``n;`` (null), ``i42;``, ``t<UTC time>;``, ``s<len>:<text>``."""
    kind = type(value)
    if kind is str:  # most values: a fast path
        return f"s{len(value)}:{value}"
    if value is None:
        return "n;"
    if kind is int:
        return f"i{value};"
    if isinstance(value, bool):
        raise TypeError("a log value is never a boolean")
    if isinstance(value, int):
        return f"i{value};"
    if isinstance(value, dt.datetime):
        return f"t{timestamp(value)};"
    s = str(value)
    return f"s{len(s)}:{s}"


def _crc(text_: str) -> int:
    return zlib.crc32(text_.encode())


@dataclass(frozen=True)
class Content:
    """What an entry says about its event or disclosure."""

    digest: bytes
    #: per field the CRC of its encoding (hex), and the number of rows
    detail: dict[str, Any]
    #: per row (in digest order), per column two bytes of the CRC of its encoding
    row_tags: bytes


def content(
    kind: str,
    ref_id: int,
    fields: Sequence[str],
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
) -> Content:
    """The digest of an event or disclosure ``ref_id``: its ``header`` (values of ``fields``)
    and its ``rows`` (tuples of the row columns), in one pass over the rows."""
    head = [encode(v) for v in header]
    h = hashlib.sha512(f"hub-log|{VERSION}|{kind}|{ref_id}|".encode())
    h.update("".join(head).encode())
    encoded = []
    for row in rows:
        cols = [encode(v) for v in row]
        encoded.append(("".join(cols), cols))
    encoded.sort(key=lambda e: e[0])
    crc = zlib.crc32
    tags = bytearray()
    for whole, cols in encoded:
        h.update(whole.encode())
        tags += b"".join((crc(c.encode()) & 0xFFFF).to_bytes(2, "big") for c in cols)
    detail = {
        "fields": {name: f"{_crc(e):08x}" for name, e in zip(fields, head, strict=True)},
        "rows": len(encoded),
    }
    return Content(h.digest(), detail, bytes(tags))


def field_tag(value: Any) -> str:
    return f"{_crc(encode(value)):08x}"


def row_tag(row: Sequence[Any]) -> bytes:
    return b"".join((_crc(encode(v)) & 0xFFFF).to_bytes(2, "big") for v in row)


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as ``[first, last]`` runs (a batch's rows are mostly consecutive)."""
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def expand(runs: Iterable[Sequence[int]]) -> Iterable[int]:
    for first, last in runs:
        yield from range(first, last + 1)


def settlement(disclosure_id: int, outcomes: Mapping[int, str]) -> Content:
    """A settlement: every row of disclosure ``disclosure_id`` by id, with its outcome."""
    by_outcome: dict[str, list[int]] = {}
    for row_id, outcome in outcomes.items():
        by_outcome.setdefault(outcome, []).append(row_id)
    detail = {
        "outcomes": {o: ranges(ids) for o, ids in sorted(by_outcome.items())},
        "rows": len(outcomes),
    }
    return Content(settlement_digest(disclosure_id, detail), detail, b"")


def settlement_digest(disclosure_id: int, detail: Mapping[str, Any]) -> bytes:
    body = canonical(["hub-log", VERSION, SETTLEMENT, disclosure_id, detail])
    return hashlib.sha512(body).digest()


def settled_outcomes(detail: Mapping[str, Any]) -> dict[int, str]:
    """Row id -> outcome, from a settlement's detail."""
    return {i: o for o, runs in detail.get("outcomes", {}).items() for i in expand(runs)}


def link(prev: bytes, seq: int, kind: str, ref_id: int, at: dt.datetime, digest: bytes) -> bytes:
    """The hash of entry ``seq``: it covers the previous hash and the entry."""
    h = hashlib.sha512(bytes(prev))
    h.update(f"|{VERSION}|{seq}|{kind}|{ref_id}|{timestamp(at)}|".encode())
    h.update(bytes(digest))
    return h.digest()


# --- appending ------------------------------------------------------------------------------


def lock(conn: Connection) -> None:
    """Hold the chain until the transaction ends: nobody else appends or prunes meanwhile."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:c, hashtext(current_schema()))"), {"c": LOCK_CLASS}
        )
    else:  # a write statement takes SQLite's write lock, whether or not it changes a row
        conn.execute(delete(t.log_chain).where(t.log_chain.c.seq < 0))


def head(conn: Connection) -> tuple[int, bytes]:
    """The last entry's sequence number and hash (the anchor's, or 0 and the genesis, when
    the chain is empty)."""
    c = t.log_chain.c
    row = conn.execute(select(c.seq, c.hash).order_by(c.seq.desc()).limit(1)).first()
    if row is not None:
        return row.seq, bytes(row.hash)
    anchor = latest_anchor(conn)
    return anchor if anchor is not None else (0, GENESIS)


def latest_anchor(conn: Connection) -> tuple[int, bytes] | None:
    k = t.log_checkpoints.c
    row = conn.execute(
        select(k.seq, k.hash).where(k.kind == "anchor").order_by(k.seq.desc()).limit(1)
    ).first()
    return (row.seq, bytes(row.hash)) if row is not None else None


def append(conn: Connection, kind: str, ref_id: int, at: dt.datetime, entry: Content) -> int:
    """Append an entry to the chain (in the caller's transaction); its sequence number."""
    lock(conn)
    seq, prev = head(conn)
    seq += 1
    conn.execute(
        t.log_chain.insert().values(
            seq=seq,
            kind=kind,
            ref_id=ref_id,
            at=at,
            digest=entry.digest,
            detail=json.dumps(entry.detail, separators=(",", ":"), sort_keys=True),
            row_tags=entry.row_tags or None,
            prev_hash=prev,
            hash=link(prev, seq, kind, ref_id, at, entry.digest),
        )
    )
    return seq


def append_access(
    conn: Connection, event_id: int, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> int:
    """Chain access event ``event_id``: ``header`` as :data:`ACCESS_FIELDS`, ``rows`` as
    :data:`ACCESS_ROW`."""
    entry = content(ACCESS, event_id, ACCESS_FIELDS, header, rows)
    return append(conn, ACCESS, event_id, header[0], entry)


def append_disclosure(
    conn: Connection, disclosure_id: int, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> int:
    """Chain disclosure ``disclosure_id``: ``header`` as :data:`DISCLOSURE_FIELDS`, ``rows``
    as :data:`DISCLOSURE_ROW`."""
    entry = content(DISCLOSURE, disclosure_id, DISCLOSURE_FIELDS, header, rows)
    return append(conn, DISCLOSURE, disclosure_id, header[0], entry)


def append_settlement(
    conn: Connection, disclosure_id: int, at: dt.datetime, outcomes: Mapping[int, str]
) -> int:
    """Chain the outcome of every row of disclosure ``disclosure_id``."""
    return append(conn, SETTLEMENT, disclosure_id, at, settlement(disclosure_id, outcomes))


# --- pruning --------------------------------------------------------------------------------


def prune_logs(conn: Connection, before: dt.datetime, key=None) -> int:
    """Delete the chain's oldest entries written before ``before``, with their events,
    disclosures and log rows; the number of entries deleted.

    Whole entries only, from the start of the chain up to the first entry at or after
    ``before``. The hash of the last one deleted is kept as an *anchor* (sealed with ``key``,
    a :class:`hub.audit.seal.SealKey`, or the configured seal key; unsealed when there is
    none), where the remaining chain starts: it verifies as before. A settlement left behind
    whose disclosure was pruned is kept; its rows are gone with the disclosure."""
    from hub.audit import seal

    if before.tzinfo is None:
        raise ValueError("prune_logs: give an aware time (UTC)")
    before = before.astimezone(dt.UTC)
    lock(conn)
    c = t.log_chain.c
    first, last = conn.execute(select(func.min(c.seq), func.max(c.seq))).one()
    if first is None:
        return 0
    keep_from = conn.execute(select(func.min(c.seq)).where(c.at >= before)).scalar()
    upto = last if keep_from is None else keep_from - 1
    if upto < first:
        return 0
    last_hash = bytes(conn.execute(select(c.hash).where(c.seq == upto)).scalar_one())
    for kind, rows, owner, parent in (
        (ACCESS, t.access_log, t.access_log.c.event_id, t.access_events),
        (DISCLOSURE, t.disclosure_log, t.disclosure_log.c.disclosure_id, t.disclosures),
    ):
        pruned = select(c.ref_id).where(c.kind == kind, c.seq <= upto)
        conn.execute(delete(rows).where(owner.in_(pruned)))
        conn.execute(delete(parent).where(parent.c.id.in_(pruned)))
    deleted = conn.execute(delete(t.log_chain).where(c.seq <= upto)).rowcount
    seal.add_checkpoint(conn, seal.ANCHOR, upto, last_hash, key or seal.configured_key())
    return deleted
