"""key rotation: the keys data is encrypted and pseudonymised with, and the rotation's progress

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_keys",
        sa.Column("key_id", sa.LargeBinary(length=4), nullable=False),
        sa.Column(
            "state", sa.String(length=16), nullable=False, comment="current|retiring|retired"
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_store_keys")),
    )
    op.create_table(
        "key_rotation",
        sa.Column(
            "key_id", sa.LargeBinary(length=4), nullable=False, comment="the new current key"
        ),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Text(), nullable=True, comment="the last row done (JSON)"),
        sa.Column("counts", sa.Text(), nullable=False, comment="rows per outcome (JSON)"),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", "step", name=op.f("pk_key_rotation")),
    )


def downgrade() -> None:
    op.drop_table("key_rotation")
    op.drop_table("store_keys")
