"""replay jobs: a replay of many dead letters run in the background, with its progress

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "replay_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column(
            "selection",
            sa.Text(),
            nullable=False,
            comment="the filter the letters matched, as shown",
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Integer(), nullable=False),
        sa.Column("not_replayed", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False, comment="running|finished|failed"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("replay_jobs")
