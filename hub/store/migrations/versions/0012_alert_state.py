"""alert state and log verifications in the store, shared by every worker; a run's state
wide enough for success_with_failures

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
OLD_STATES, NEW_STATES = "running|success|failed", "running|success|success_with_failures|failed"


def _run_state(length: int, comment: str, existing_length: int, existing_comment: str) -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.alter_column(
            "state",
            existing_type=sa.String(length=existing_length),
            type_=sa.String(length=length),
            existing_nullable=False,
            comment=comment,
            existing_comment=existing_comment,
        )


def upgrade() -> None:
    _run_state(32, NEW_STATES, 16, OLD_STATES)
    op.create_table(
        "alert_state",
        sa.Column("key", sa.String(length=200), nullable=False, comment="kind:exchange"),
        sa.Column(
            "fingerprint",
            sa.String(length=300),
            nullable=False,
            comment="the occurrence last sent",
        ),
        sa.Column("first_sent_at", TS, nullable=False),
        sa.Column("last_sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_state")),
    )
    op.create_table(
        "log_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("intact", sa.Integer(), nullable=False, comment="1: intact, 0: problems found"),
        sa.Column("head_seq", sa.Integer(), nullable=True, comment="the last chain entry verified"),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_verifications")),
    )
    with op.batch_alter_table("log_verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_verifications_at"), ["at"])


def downgrade() -> None:
    with op.batch_alter_table("log_verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_verifications_at"))
    op.drop_table("log_verifications")
    op.drop_table("alert_state")
    op.execute("UPDATE runs SET state = 'success' WHERE state = 'success_with_failures'")
    _run_state(16, OLD_STATES, 32, NEW_STATES)
