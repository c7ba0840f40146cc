"""sign-in hardening: failed attempts per user and per address, server-side sessions

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("kind", sa.String(length=8), nullable=False, comment="user|address"),
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, comment="within the window"),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False, comment="locks in a row"),
        sa.Column("locked_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_signin_failures")),
    )
    op.create_table(
        "sessions",
        sa.Column(
            "id", sa.String(length=64), nullable=False, comment="SHA-256 of the cookie's token"
        ),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_username"), ["username"])
        batch_op.create_index(batch_op.f("ix_sessions_last_seen_at"), ["last_seen_at"])


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_last_seen_at"))
        batch_op.drop_index(batch_op.f("ix_sessions_username"))
    op.drop_table("sessions")
    op.drop_table("signin_failures")
