"""Tables of the access and disclosure logs (Act 703/2023) and their hash chain: who read
clients' data, when and why; what was disclosed to whom on which legal basis; the chain and
its sealed checkpoints that make any change to them seen (:mod:`hub.audit`). Part of
:mod:`hub.store.schema`, which every other module imports them from."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from hub.store.schema_base import TS, metadata

#: who read clients' data, when and why (Act 703/2023): one event per batch or action ...
access_events = Table(
    "access_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(32), nullable=False, comment="receive|read|reveal|aggregate"),
    Column("exchange", String(128), nullable=True),
    Column("purpose", Text, nullable=False),
    Column("action_code", String(16), nullable=True, comment="THL 1.2.246.537.6.3302"),
    Index(None, "at"),
)

#: ... and whose data it was, one row per record read
access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, ForeignKey("access_events.id"), nullable=False),
    Column("subject_id", Integer, ForeignKey("subjects.id"), nullable=True),
    Column("record_id", String(36), nullable=True),
    Index(None, "subject_id", "event_id"),
    Index(None, "event_id"),
)

#: what was disclosed to whom on which legal basis (Act 703/2023), one row per batch ...
disclosures = Table(
    "disclosures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("exchange", String(128), nullable=False),
    Column("target_system", String(64), nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("action_code", String(16), nullable=True, comment="THL 1.2.246.537.6.3302"),
    Index(None, "at"),
)

#: ... and one row per record, written before it is sent and settled after (the outcome may
#: also be "unconfirmed": sent, no verdict came; hub.store.audit. The column's comment, part
#: of the migrations, predates that outcome)
disclosure_log = Table(
    "disclosure_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("disclosure_id", Integer, ForeignKey("disclosures.id"), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("subject_id", Integer, ForeignKey("subjects.id"), nullable=True),
    Column("fields", Text, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("outcome", String(16), nullable=False, comment="sending|ok|skipped|failed"),
    Column("admitted_by", String(500), nullable=True, comment="the record rules that admitted it"),
    Index(None, "subject_id", "disclosure_id"),
    Index(None, "disclosure_id"),
    Index(None, "record_id"),
    Index(None, "idempotency_key"),
)

# --- tamper-evident logs (migration 0006) ---------------------------------------------------

#: every access event, disclosure and settlement of outcomes as one entry of a hash chain
#: (hub.audit.chain): the entry's digest covers its log rows, its hash the previous hash
log_chain = Table(
    "log_chain",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False, comment="access|disclosure|settlement"),
    Column("ref_id", Integer, nullable=False, comment="access_events.id or disclosures.id"),
    Column("at", TS, nullable=False),
    Column("digest", LargeBinary(64), nullable=False, comment="SHA-512 of the entry's content"),
    Column("detail", Text, nullable=False, comment="what tells a difference apart (JSON)"),
    Column("row_tags", LargeBinary, nullable=True, comment="short tags of the rows' columns"),
    Column("prev_hash", LargeBinary(64), nullable=False),
    Column("hash", LargeBinary(64), nullable=False),
    Index(None, "kind", "ref_id"),
)

#: sealed checkpoints of the chain (hub.audit.seal), and anchors left by pruning: the hash
#: of the last entry removed, where the remaining chain starts
log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False, comment="checkpoint|anchor"),
    Column("seq", Integer, nullable=False),
    Column("hash", LargeBinary(64), nullable=False),
    Column("at", TS, nullable=False),
    Column("key_id", String(16), nullable=True, comment="the seal key's fingerprint"),
    Column("seal", LargeBinary, nullable=True, comment="Ed25519 signature; null: unsealed"),
    Index(None, "kind", "seq"),
)
