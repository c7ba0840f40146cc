"""indicator releases: each family's releases, for the revision rule of disclosure control

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "indicator_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("practice_model", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("grp", sa.String(length=16), nullable=False, comment="main | follow_up"),
        sa.Column(
            "seq",
            sa.Integer(),
            nullable=False,
            comment="1 for the first release, then revisions",
        ),
        sa.Column("released_at", TS, nullable=False),
        sa.Column("exchange", sa.String(length=128), nullable=False),
        sa.Column(
            "payload", sa.LargeBinary(), nullable=False, comment="AES-GCM: the release as JSON"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_releases")),
        sa.UniqueConstraint(
            "practice_model",
            "period_start",
            "grp",
            "exchange",
            "seq",
            name="uq_indicator_releases_family_seq",
        ),
    )


def downgrade() -> None:
    op.drop_table("indicator_releases")
