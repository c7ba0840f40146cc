"""Tables of the hub store (SQLAlchemy Core). Alembic migrations mirror these; a test fails
when they drift apart.

No column holds an identity code or a client's data in plaintext: payloads are AES-GCM
encrypted, lookups go through keyed pseudonyms (``subjects.pseudonym``, ``native_key``),
kept as the 32 bytes of the HMAC (half the size of hex text in every index page).

Built for bulk loads of hundreds of thousands of records a night: a person is a small
surrogate id (``subjects.id``), handed out in order, so that the records and logs that refer
to people append to their indexes instead of landing on random pages of them; the access and
disclosure logs keep who, when, why and on which legal basis once per batch (an event) and
one short row per record.

The tables are declared in three modules, all on one :data:`metadata` and all imported from
here (``from hub.store import schema as t``): clients' data and its movement (this module),
the logs and their chain (:mod:`hub.store.schema_logs`), and running the hub
(:mod:`hub.store.schema_control`).
"""

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
    UniqueConstraint,
)

from hub.store.schema_base import TS, metadata
from hub.store.schema_control import (
    alert_state,
    exchange_leases,
    key_rotation,
    log_verifications,
    purges,
    replay_jobs,
    sessions,
    signin_failures,
    store_keys,
    users,
)
from hub.store.schema_logs import (
    access_events,
    access_log,
    disclosure_log,
    disclosures,
    log_chain,
    log_checkpoints,
)

__all__ = [
    "TS",
    "access_events",
    "access_log",
    "alert_state",
    "cursors",
    "replay_jobs",
    "dead_letters",
    "disclosure_log",
    "disclosures",
    "exchange_leases",
    "held_back",
    "identity_map",
    "indicator_releases",
    "key_rotation",
    "log_chain",
    "log_checkpoints",
    "log_verifications",
    "metadata",
    "outbox",
    "purges",
    "records",
    "run_batches",
    "runs",
    "sessions",
    "signin_failures",
    "store_keys",
    "subjects",
    "users",
]

#: the people whose data the hub holds: the keyed pseudonym of the identity code, and the
#: surrogate id everything else refers to them by
subjects = Table(
    "subjects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "pseudonym",
        LargeBinary(32),
        nullable=False,
        unique=True,
        comment="keyed pseudonym (HMAC-SHA256) of the identity code",
    ),
    Column("created_at", TS, nullable=False),
)

#: canonical records, current version; the payload is the encrypted canonical JSON
records = Table(
    "records",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("entity", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("subject_id", Integer, ForeignKey("subjects.id"), nullable=True, comment="the client"),
    Column("origin_system", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(None, "entity", "id"),  # every record of an entity, in id order (derivations)
    Index(None, "subject_id"),
)

#: (system, entity, native id) <-> canonical id; the native id is kept as a keyed hash for
#: lookup and encrypted for delivery (some systems use identity codes as ids)
identity_map = Table(
    "identity_map",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("native_key", LargeBinary(32), primary_key=True),
    Column("native_id", LargeBinary, nullable=False),
    Column("record_id", String(36), ForeignKey("records.id"), nullable=False),
    Column("created_at", TS, nullable=False),
    Index(None, "record_id", "system"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("exchange", String(128), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("value", Text, nullable=True),
    Column("updated_at", TS, nullable=False),
)

#: one row per (exchange, record): the latest version wanted at the target and its state
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exchange", String(128), nullable=False),
    Column("record_id", String(36), ForeignKey("records.id"), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    # also "held" (hub.store.outbox.HELD): the column's comment, part of the migrations,
    # predates it
    Column("status", String(16), nullable=False, comment="pending|delivered|skipped|dead"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("enqueued_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("correction", LargeBinary, nullable=True, comment="encrypted operator's choice"),
    UniqueConstraint("exchange", "record_id"),
    Index(None, "exchange", "status", "id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exchange", String(128), nullable=False),
    Column("run_id", String(36), nullable=True),
    Column("stage", String(16), nullable=False, comment="read|translate|validate|deliver"),
    Column("system", String(64), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("entity", String(64), nullable=True),
    Column("native_ref", String(300), nullable=True),
    Column("record_id", String(36), nullable=True),
    Column("error_class", String(32), nullable=False, comment="invalid|rule|permanent"),
    Column("field", String(200), nullable=True),
    Column("reason", Text, nullable=False),
    Column("payload", LargeBinary, nullable=True, comment="encrypted native record"),
    Column("status", String(16), nullable=False, comment="open|replayed|resolved|superseded"),
    Column("note", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column(
        "successor_id",
        Integer,
        # a purge may take the later letter first: the link goes, the letter stays
        ForeignKey("dead_letters.id", ondelete="SET NULL"),
        nullable=True,
        comment="the letter of the same record's later failure (status superseded)",
    ),
    Index(None, "status", "exchange", "created_at"),
    Index(None, "record_id"),
    Index(None, "native_ref"),
    # the dashboard pages dead letters newest first, filtered by status and one more column
    Index(None, "status", "id"),
    Index(None, "status", "exchange", "id"),
    Index(None, "status", "system", "id"),
    Index(None, "status", "error_class", "id"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("exchange", String(128), nullable=False),
    Column("external_id", String(250), nullable=False, comment="e.g. the Airflow run id"),
    Column(
        "state",
        String(32),
        nullable=False,
        comment="running|success|success_with_failures|failed",
    ),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
    Column("read", Integer, nullable=False, default=0),
    Column("upserted", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("delivered", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("held_back", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    UniqueConstraint("exchange", "external_id"),
    Index(None, "exchange", "started_at"),
)

run_batches = Table(
    "run_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), ForeignKey("runs.id"), nullable=False),
    Column("phase", String(16), nullable=False, comment="extract|deliver"),
    Column("stream", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("read", Integer, nullable=False, default=0),
    Column("upserted", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("delivered", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("held_back", Integer, nullable=False, default=0),
    Column("cursor", Text, nullable=True),
    Column("at", TS, nullable=False),
    Index(None, "run_id", "seq"),
)

#: what an exchange's legal basis did not cover: a record held back whole, or a part of one
#: (e.g. attended days outside the decided period), with the rule and its reason
held_back = Table(
    "held_back",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("exchange", String(128), nullable=False),
    Column("run_id", String(36), nullable=True),
    Column("record_id", String(36), ForeignKey("records.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("subject_id", Integer, ForeignKey("subjects.id"), nullable=True),
    Column("rule", String(64), nullable=False),
    Column(
        "part", String(64), nullable=True, comment="the field whose items were held; null: whole"
    ),
    Column("count", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Index(None, "exchange", "id"),
    Index(None, "run_id"),
    Index(None, "record_id"),
    Index(None, "subject_id"),
)

#: the releases of indicators (hub.indicators.release): per practice model, period and group
#: of figures, each release's figures as published and, per figure, a digest of each
#: person's contribution under their subject id — encrypted, as it derives from client data
indicator_releases = Table(
    "indicator_releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("practice_model", String(200), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("grp", String(16), nullable=False, comment="main | follow_up"),
    Column("seq", Integer, nullable=False, comment="1 for the first release, then revisions"),
    Column("released_at", TS, nullable=False),
    Column("exchange", String(128), nullable=False),
    Column("payload", LargeBinary, nullable=False, comment="AES-GCM: the release as JSON"),
    UniqueConstraint(
        "practice_model",
        "period_start",
        "grp",
        "exchange",
        "seq",
        name="uq_indicator_releases_family_seq",
    ),
)
