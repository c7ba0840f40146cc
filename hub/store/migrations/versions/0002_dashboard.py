"""dashboard: users, dead-letter indexes for paging and filtering

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False, comment="viewer|operator"),
        sa.Column("disabled", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_status_id"), ["status", "id"])
        batch_op.create_index(
            batch_op.f("ix_dead_letters_status_exchange_id"), ["status", "exchange", "id"]
        )
        batch_op.create_index(
            batch_op.f("ix_dead_letters_status_system_id"), ["status", "system", "id"]
        )
        batch_op.create_index(
            batch_op.f("ix_dead_letters_status_error_class_id"), ["status", "error_class", "id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_status_error_class_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_status_system_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_status_exchange_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_status_id"))
    op.drop_table("users")
