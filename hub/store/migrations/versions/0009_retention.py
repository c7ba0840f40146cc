"""retention: what the purge removed and when

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "purges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "at", TS, nullable=False, comment="the time the retention periods count back from"
        ),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column(
            "cutoffs", sa.Text(), nullable=False, comment="JSON: what was due before which time"
        ),
        sa.Column(
            "counts", sa.Text(), nullable=True, comment="JSON: rows removed, per kind and scope"
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purges")),
    )
    with op.batch_alter_table("purges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purges_finished_at"), ["finished_at"])


def downgrade() -> None:
    with op.batch_alter_table("purges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purges_finished_at"))
    op.drop_table("purges")
