"""record rules: what was held back and why, the rules that admitted each disclosure, an
operator's correction on the outbox, and a held-back count per run and batch

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "held_back",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("exchange", sa.String(length=128), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column(
            "part",
            sa.String(length=64),
            nullable=True,
            comment="the field whose items were held; null: whole",
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_held_back_record_id_records")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_held_back_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_back")),
    )
    with op.batch_alter_table("held_back", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_back_exchange_id"), ["exchange", "id"])
        batch_op.create_index(batch_op.f("ix_held_back_run_id"), ["run_id"])
        batch_op.create_index(batch_op.f("ix_held_back_record_id"), ["record_id"])
        batch_op.create_index(batch_op.f("ix_held_back_subject_id"), ["subject_id"])
    for table in ("runs", "run_batches"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("held_back", sa.Integer(), nullable=False, server_default="0")
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("held_back", server_default=None)
    with op.batch_alter_table("disclosure_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "admitted_by",
                sa.String(length=500),
                nullable=True,
                comment="the record rules that admitted it",
            )
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "correction",
                sa.LargeBinary(),
                nullable=True,
                comment="encrypted operator's choice",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("correction")
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'held'")
    with op.batch_alter_table("disclosure_log", schema=None) as batch_op:
        batch_op.drop_column("admitted_by")
    for table in ("run_batches", "runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("held_back")
    op.drop_table("held_back")
