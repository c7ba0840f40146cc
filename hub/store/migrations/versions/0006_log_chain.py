"""tamper-evident logs: a hash chain over the access and disclosure logs, sealed
checkpoints, THL action codes

Existing events and disclosures get their THL action code (the mapping of this release,
frozen here) and are chained, in the order they were written, by the chain code of this
release (:mod:`hub.audit.chain`, encoding version 1); a disclosure already settled gets a
settlement entry after it. So an upgraded store verifies from its first row on. The chain
starts from the genesis hash (64 zero bytes); no checkpoint is made here (the seal key is not
the migration's): the first ``hub audit verify`` with a seal key makes one.

Revision ID: 0006
Revises: 0005
"""

import itertools
import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

#: the hub's actions and their codes as this release ships them (log-actions.json)
CODES = {
    "receive": "2",
    "read": "1",
    "reveal": "1",
    "reconcile": "1",
    "aggregate": "4",
    "derive": "5",
    "disclose": "3",
    "extract": "6",
    "log_read": "7",
}


def upgrade() -> None:
    for table in ("access_events", "disclosures"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "action_code",
                    sa.String(length=16),
                    nullable=True,
                    comment="THL 1.2.246.537.6.3302",
                )
            )
    cases = " ".join(f"WHEN '{a}' THEN '{c}'" for a, c in CODES.items())
    op.execute(f"UPDATE access_events SET action_code = CASE action {cases} END")
    op.execute(f"UPDATE disclosures SET action_code = '{CODES['disclose']}'")

    op.create_table(
        "log_chain",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "kind", sa.String(length=16), nullable=False, comment="access|disclosure|settlement"
        ),
        sa.Column(
            "ref_id", sa.Integer(), nullable=False, comment="access_events.id or disclosures.id"
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column(
            "digest",
            sa.LargeBinary(length=64),
            nullable=False,
            comment="SHA-512 of the entry's content",
        ),
        sa.Column(
            "detail", sa.Text(), nullable=False, comment="what tells a difference apart (JSON)"
        ),
        sa.Column(
            "row_tags", sa.LargeBinary(), nullable=True, comment="short tags of the rows' columns"
        ),
        sa.Column("prev_hash", sa.LargeBinary(length=64), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_log_chain")),
    )
    with op.batch_alter_table("log_chain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_chain_kind_ref_id"), ["kind", "ref_id"])
    op.create_table(
        "log_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="checkpoint|anchor"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column(
            "key_id", sa.String(length=16), nullable=True, comment="the seal key's fingerprint"
        ),
        sa.Column(
            "seal", sa.LargeBinary(), nullable=True, comment="Ed25519 signature; null: unsealed"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoints")),
    )
    with op.batch_alter_table("log_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_checkpoints_kind_seq"), ["kind", "seq"])
    _chain_existing()


def _grouped(bind, parents: str, children: str, owner: str):
    """(parent row, its child rows), streamed in id order; the parent's ``at`` as a time."""
    rows = bind.execute(sa.text(f"{children} ORDER BY {owner}, id"))
    groups = itertools.groupby(rows, key=lambda r: getattr(r, owner))
    pending = next(groups, None)
    for parent in bind.execute(sa.text(f"{parents} ORDER BY id").columns(at=TS)):
        while pending is not None and pending[0] < parent.id:
            pending = next(groups, None)
        if pending is not None and pending[0] == parent.id:
            yield parent, list(pending[1])
            pending = next(groups, None)
        else:
            yield parent, []


def _chain_existing() -> None:
    from hub.audit import chain

    bind = op.get_bind()
    entries = []  # (at, 0: access 1: disclosure, ref_id, 0, 1: settlement, kind, at, content)
    for event, rows in _grouped(
        bind,
        "SELECT id, at, actor, action, action_code, exchange, purpose FROM access_events",
        "SELECT id, event_id, subject_id, record_id FROM access_log",
        "event_id",
    ):
        header = [getattr(event, f) for f in chain.ACCESS_FIELDS]
        values = [(r.subject_id, r.record_id) for r in rows]
        c = chain.content(chain.ACCESS, event.id, chain.ACCESS_FIELDS, header, values)
        entries.append((chain.timestamp(event.at), 0, event.id, 0, chain.ACCESS, event.at, c))
    for disclosure, rows in _grouped(
        bind,
        "SELECT id, at, exchange, target_system, legal_basis, action_code FROM disclosures",
        "SELECT id, disclosure_id, record_id, subject_id, fields, idempotency_key, outcome,"
        " admitted_by FROM disclosure_log",
        "disclosure_id",
    ):
        header = [getattr(disclosure, f) for f in chain.DISCLOSURE_FIELDS]
        values = [tuple(getattr(r, c) for c in chain.DISCLOSURE_ROW) for r in rows]
        c = chain.content(chain.DISCLOSURE, disclosure.id, chain.DISCLOSURE_FIELDS, header, values)
        at = disclosure.at
        entries.append((chain.timestamp(at), 1, disclosure.id, 0, chain.DISCLOSURE, at, c))
        if any(r.outcome != "sending" for r in rows):
            settled = chain.settlement(disclosure.id, {r.id: r.outcome for r in rows})
            entries.append(
                (chain.timestamp(at), 1, disclosure.id, 1, chain.SETTLEMENT, at, settled)
            )
    entries.sort(key=lambda e: e[:4])
    prev, out = chain.GENESIS, []
    for seq, (_, _, ref_id, _, kind, at, c) in enumerate(entries, start=1):
        hash_ = chain.link(prev, seq, kind, ref_id, at, c.digest)
        out.append(
            {
                "seq": seq,
                "kind": kind,
                "ref_id": ref_id,
                "at": at,
                "digest": c.digest,
                "detail": json.dumps(c.detail, separators=(",", ":"), sort_keys=True),
                "row_tags": c.row_tags or None,
                "prev_hash": prev,
                "hash": hash_,
            }
        )
        prev = hash_
    table = sa.table(
        "log_chain",
        *(
            sa.column(n, type_)
            for n, type_ in (
                ("seq", sa.Integer()),
                ("kind", sa.String()),
                ("ref_id", sa.Integer()),
                ("at", TS),
                ("digest", sa.LargeBinary()),
                ("detail", sa.Text()),
                ("row_tags", sa.LargeBinary()),
                ("prev_hash", sa.LargeBinary()),
                ("hash", sa.LargeBinary()),
            )
        ),
    )
    for start in range(0, len(out), 5000):
        bind.execute(table.insert(), out[start : start + 5000])


def downgrade() -> None:
    with op.batch_alter_table("log_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_checkpoints_kind_seq"))
    op.drop_table("log_checkpoints")
    with op.batch_alter_table("log_chain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_chain_kind_ref_id"))
    op.drop_table("log_chain")
    for table in ("disclosures", "access_events"):
        if op.get_bind().dialect.name == "sqlite":  # in place: access_log refers to the table
            op.execute(f"ALTER TABLE {table} DROP COLUMN action_code")
        else:
            op.drop_column(table, "action_code")
