"""replay successor: a dead letter whose record failed again points at the later letter

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATUS_BEFORE = "open|replayed|resolved"
STATUS_AFTER = "open|replayed|resolved|superseded"
FK = "fk_dead_letters_successor_id_dead_letters"


def upgrade() -> None:
    # on SQLite the table is rebuilt (nothing else refers to it): a foreign key added in
    # place would not be read back with its name and its ON DELETE
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "successor_id",
                sa.Integer(),
                nullable=True,
                comment="the letter of the same record's later failure (status superseded)",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f(FK), "dead_letters", ["successor_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATUS_AFTER,
            existing_comment=STATUS_BEFORE,
        )
    # the earlier releases closed a letter whose record failed again as "resolved" with this
    # note, and kept no link: it was superseded all the same, by the record's next letter
    op.execute(
        "UPDATE dead_letters SET status = 'superseded', successor_id = ("
        "SELECT min(n.id) FROM dead_letters n WHERE n.exchange = dead_letters.exchange"
        " AND n.native_ref = dead_letters.native_ref AND n.id > dead_letters.id) "
        "WHERE status = 'resolved' AND note = 'superseded by a later failure'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE dead_letters SET status = 'resolved', note = 'superseded by a later failure' "
        "WHERE status = 'superseded'"
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK), type_="foreignkey")
        batch_op.drop_column("successor_id")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATUS_BEFORE,
            existing_comment=STATUS_AFTER,
        )
