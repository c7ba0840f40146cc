"""Tables of running the hub, not of clients' data: dashboard users, their sign-in failures
and sessions, the lease each exchange's run holds, the keys the store knows and the progress
of a rotation, the purges made, the alerts sent and the verifications of the logs. Part of
:mod:`hub.store.schema`, which every other module imports them from."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from hub.store.schema_base import TS, metadata

#: people who sign in to the dashboard; passwords as scrypt hashes (never in plaintext)
users = Table(
    "users",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(16), nullable=False, comment="viewer|operator"),
    Column("disabled", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
)

# --- one run at a time (migration 0005) -----------------------------------------------------

#: one lease per exchange: whoever holds it (an Airflow task, ``hub exchanges run``, a replay)
#: is the only one running the exchange. ``token`` grows by one at every acquisition (the
#: fencing token): a holder's commits check it, so a holder whose lease expired and was
#: taken over can no longer commit anything (hub.engine.lease)
exchange_leases = Table(
    "exchange_leases",
    metadata,
    Column("exchange", String(128), primary_key=True),
    Column("token", Integer, nullable=False, default=0),
    Column("holder", String(300), nullable=True, comment="who: run, host and process"),
    Column("run_id", String(36), nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("acquired_at", TS, nullable=True),
    Column("expires_at", TS, nullable=True),
)

# --- sign-in hardening (migration 0007) -----------------------------------------------------

#: failed dashboard sign-ins, per user name and per client address (``key``: the keyed
#: pseudonym of either, so a password typed into the name field is never stored), and the
#: lock they led to; shared by every dashboard process (hub.store.signin)
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("kind", String(8), primary_key=True, comment="user|address"),
    Column("key", LargeBinary(32), primary_key=True),
    Column("failures", Integer, nullable=False, default=0, comment="within the window"),
    Column("window_start", TS, nullable=False),
    Column("lockouts", Integer, nullable=False, default=0, comment="locks in a row"),
    Column("locked_until", TS, nullable=True),
)

#: dashboard sessions: the cookie carries a random token, the store its SHA-256 (``id``);
#: signing out sets ``revoked_at``; a session ends at an absolute lifetime from
#: ``created_at`` and after an idle time from ``last_seen_at`` (hub.store.signin)
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True, comment="SHA-256 of the cookie's token"),
    Column("username", String(100), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Index(None, "username"),
    Index(None, "last_seen_at"),
)

# --- key rotation (migration 0008) ----------------------------------------------------------

#: the master keys the store knows (hub.store.keys): the current one encrypts and
#: pseudonymises everything new; a retiring one is still needed to read some rows; a retired
#: one by nothing (the operator may remove it from the configuration)
store_keys = Table(
    "store_keys",
    metadata,
    Column("key_id", LargeBinary(4), primary_key=True),
    Column("state", String(16), nullable=False, comment="current|retiring|retired"),
    Column("created_at", TS, nullable=False),
    Column("retired_at", TS, nullable=True),
)

#: how far ``hub keys rotate`` to a key has come: one row per step (hub.privacy.rotation),
#: with the last row done (a resumed rotation goes on after it) and what it counted
key_rotation = Table(
    "key_rotation",
    metadata,
    Column("key_id", LargeBinary(4), primary_key=True, comment="the new current key"),
    Column("step", String(32), primary_key=True),
    Column("position", Text, nullable=True, comment="the last row done (JSON)"),
    Column("counts", Text, nullable=False, comment="rows per outcome (JSON)"),
    Column("started_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
)

# --- retention (migration 0009) -------------------------------------------------------------

#: each purge of what the retention periods let go (hub.retention): the time its cutoffs
#: were measured from, the cutoffs and how many rows of each kind it removed. What was
#: removed is evidence too: these rows are kept (no client data, a row a day)
purges = Table(
    "purges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False, comment="the time the retention periods count back from"),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
    Column("actor", String(200), nullable=False),
    Column("cutoffs", Text, nullable=False, comment="JSON: what was due before which time"),
    Column("counts", Text, nullable=True, comment="JSON: rows removed, per kind and scope"),
    Column("error", Text, nullable=True),
    Index(None, "finished_at"),
)

# --- many workers (migration 0012) ----------------------------------------------------------

#: the alerts sent, one row per alert condition (``key``: its kind and exchange) while the
#: condition holds: the occurrence last sent (``fingerprint``: a run id, a threshold crossed)
#: and when. Every worker's ``hub_health`` shares it, so each occurrence is claimed, and
#: sent, by one of them only (hub.store.alert_state); a cleared condition's row is removed
alert_state = Table(
    "alert_state",
    metadata,
    Column("key", String(200), primary_key=True, comment="kind:exchange"),
    Column("fingerprint", String(300), nullable=False, comment="the occurrence last sent"),
    Column("first_sent_at", TS, nullable=False),
    Column("last_sent_at", TS, nullable=False),
)

#: each daily verification of the access and disclosure logs by ``hub_health``
#: (hub.ops.auditlog): when, whether the logs were intact and how far the chain reached, so
#: every worker knows when the last one was (a row a day; no client data)
log_verifications = Table(
    "log_verifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("intact", Integer, nullable=False, comment="1: intact, 0: problems found"),
    Column("head_seq", Integer, nullable=True, comment="the last chain entry verified"),
    Column("problems", Integer, nullable=False, default=0),
    Index(None, "at"),
)

# --- replays in the background (migration 0013) ---------------------------------------------

#: a replay of many dead letters started on the dashboard and run in the background
#: (hub.engine.replay_jobs): how far it got, so any process of the dashboard shows its
#: progress; ``updated_at`` moves with every letter, so a job whose process stopped is seen
#: as stalled (its letters stay open: replaying them again is safe)
replay_jobs = Table(
    "replay_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("selection", Text, nullable=False, comment="the filter the letters matched, as shown"),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("replayed", Integer, nullable=False, default=0),
    Column("not_replayed", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False, comment="running|finished|failed"),
    Column("error", Text, nullable=True),
    Column("started_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
)
