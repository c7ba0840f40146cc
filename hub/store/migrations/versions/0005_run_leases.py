"""a lease per exchange: one run at a time, with a fencing token

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_leases",
        sa.Column("exchange", sa.String(length=128), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column(
            "holder", sa.String(length=300), nullable=True, comment="who: run, host and process"
        ),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("acquired_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("exchange", name=op.f("pk_exchange_leases")),
    )


def downgrade() -> None:
    op.drop_table("exchange_leases")
