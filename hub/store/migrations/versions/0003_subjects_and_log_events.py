"""subjects by surrogate id; access and disclosure logs as events with one row per record

A person is a row of ``subjects`` (the keyed pseudonym, once) and everything else refers to
it by a small integer handed out in order; the purpose and legal basis, written once per
record before, are written once per event (batch). Pseudonyms are kept as their 32 bytes
instead of 64 hex characters. Records are indexed by (entity, id), as they are read, not by
the time of their last change. Existing rows are carried over.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "pseudonym",
            sa.LargeBinary(length=32),
            nullable=False,
            comment="keyed pseudonym (HMAC-SHA256) of the identity code",
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_subjects_pseudonym")),
    )
    # everyone known, in the order they first appeared (SQLite before 3.41 cannot turn hex
    # into bytes, so the conversion is done here); subject_keys maps the old hex form to
    # the new id for the statements below
    bind = op.get_bind()
    known = bind.execute(
        sa.text(
            "SELECT subject, MIN(at) FROM ("
            " SELECT subject, created_at AS at FROM records WHERE subject IS NOT NULL"
            " UNION ALL SELECT subject, at FROM access_log WHERE subject IS NOT NULL"
            " UNION ALL SELECT subject, at FROM disclosure_log WHERE subject IS NOT NULL"
            ") AS known GROUP BY subject ORDER BY MIN(at), subject"
        )
    ).all()
    if known:
        bind.execute(
            sa.text("INSERT INTO subjects (pseudonym, created_at) VALUES (:p, :at)"),
            [{"p": bytes.fromhex(h), "at": at} for h, at in known],
        )
    op.create_table(
        "subject_keys",
        sa.Column("hex", sa.String(length=64), primary_key=True),
        sa.Column("id", sa.Integer(), nullable=False),
    )
    rows = bind.execute(sa.text("SELECT pseudonym, id FROM subjects")).all()
    if rows:
        bind.execute(
            sa.text("INSERT INTO subject_keys (hex, id) VALUES (:h, :id)"),
            [{"h": bytes(p).hex(), "id": i} for p, i in rows],
        )

    # records.subject (pseudonym) -> records.subject_id. On SQLite without rebuilding the
    # table (identity_map and outbox refer to it): ADD and DROP COLUMN in place.
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "ALTER TABLE records ADD COLUMN subject_id INTEGER "
            "CONSTRAINT fk_records_subject_id_subjects REFERENCES subjects (id)"
        )
    else:
        op.add_column(
            "records", sa.Column("subject_id", sa.Integer(), nullable=True, comment="the client")
        )
        op.create_foreign_key(
            op.f("fk_records_subject_id_subjects"), "records", "subjects", ["subject_id"], ["id"]
        )
    op.execute(
        "UPDATE records SET subject_id = "
        "(SELECT s.id FROM subject_keys s WHERE s.hex = records.subject) "
        "WHERE subject IS NOT NULL"
    )
    op.drop_index(op.f("ix_records_subject"), table_name="records")
    if sqlite:
        op.execute("ALTER TABLE records DROP COLUMN subject")
    else:
        op.drop_column("records", "subject")
    op.create_index(op.f("ix_records_subject_id"), "records", ["subject_id"], unique=False)
    # records are read by entity in id order; an index on the time of the last change was
    # rewritten by every update and read by nothing
    op.drop_index(op.f("ix_records_entity_updated_at"), table_name="records")
    op.create_index(op.f("ix_records_entity_id"), "records", ["entity", "id"], unique=False)

    _split_access_log()
    _split_disclosure_log()
    op.drop_table("subject_keys")
    _native_keys_as_bytes()


def _native_keys_as_bytes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE identity_map ALTER COLUMN native_key TYPE BYTEA "
            "USING decode(native_key, 'hex')"
        )
        return
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT rowid, native_key FROM identity_map")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE identity_map SET native_key = :k WHERE rowid = :r"),
            [{"k": bytes.fromhex(k), "r": r} for r, k in rows],
        )
    with op.batch_alter_table("identity_map", schema=None, recreate="always") as batch_op:
        batch_op.alter_column(
            "native_key", existing_type=sa.String(length=64), type_=sa.LargeBinary(length=32)
        )


def _rename(table: str, new_name: str) -> None:
    """Rename a table and its primary key constraint ``pk_<table>`` with it (PostgreSQL
    names the key's index after the constraint: a successor could not have its own)."""
    op.rename_table(table, new_name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {new_name} RENAME CONSTRAINT pk_{table} TO pk_{new_name}")


def _split_access_log() -> None:
    op.create_table(
        "access_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column(
            "action", sa.String(length=32), nullable=False, comment="receive|read|reveal|aggregate"
        ),
        sa.Column("exchange", sa.String(length=128), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_events")),
    )
    with op.batch_alter_table("access_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_events_at"), ["at"], unique=False)
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_subject_at"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))
    _rename("access_log", "access_log_0002")
    op.execute(
        "INSERT INTO access_events (at, actor, action, exchange, purpose) "
        "SELECT at, actor, action, exchange, purpose FROM access_log_0002 "
        "GROUP BY at, actor, action, exchange, purpose ORDER BY MIN(id)"
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["access_events.id"], name=op.f("fk_access_log_event_id_access_events")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_access_log_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.execute(
        "INSERT INTO access_log (event_id, subject_id, record_id) "
        "SELECT e.id, s.id, a.record_id FROM access_log_0002 a "
        "JOIN access_events e ON e.at = a.at AND e.actor = a.actor AND e.action = a.action "
        " AND COALESCE(e.exchange, '') = COALESCE(a.exchange, '') AND e.purpose = a.purpose "
        "LEFT JOIN subject_keys s ON s.hex = a.subject ORDER BY a.id"
    )
    op.drop_table("access_log_0002")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_log_subject_id_event_id"), ["subject_id", "event_id"]
        )
        batch_op.create_index(batch_op.f("ix_access_log_event_id"), ["event_id"])


def _split_disclosure_log() -> None:
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("exchange", sa.String(length=128), nullable=False),
        sa.Column("target_system", sa.String(length=64), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
    )
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosures_at"), ["at"], unique=False)
    with op.batch_alter_table("disclosure_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_log_subject_at"))
        batch_op.drop_index(batch_op.f("ix_disclosure_log_record_id"))
        batch_op.drop_index(batch_op.f("ix_disclosure_log_idempotency_key"))
    _rename("disclosure_log", "disclosure_log_0002")
    op.execute(
        "INSERT INTO disclosures (at, exchange, target_system, legal_basis) "
        "SELECT at, exchange, target_system, legal_basis FROM disclosure_log_0002 "
        "GROUP BY at, exchange, target_system, legal_basis ORDER BY MIN(id)"
    )
    op.create_table(
        "disclosure_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "outcome", sa.String(length=16), nullable=False, comment="sending|ok|skipped|failed"
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_disclosure_log_disclosure_id_disclosures"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_disclosure_log_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_log")),
    )
    op.execute(
        "INSERT INTO disclosure_log "
        "(disclosure_id, record_id, subject_id, fields, idempotency_key, outcome) "
        "SELECT d.id, l.record_id, s.id, l.fields, l.idempotency_key, l.outcome "
        "FROM disclosure_log_0002 l "
        "JOIN disclosures d ON d.at = l.at AND d.exchange = l.exchange "
        " AND d.target_system = l.target_system AND d.legal_basis = l.legal_basis "
        "LEFT JOIN subject_keys s ON s.hex = l.subject ORDER BY l.id"
    )
    op.drop_table("disclosure_log_0002")
    with op.batch_alter_table("disclosure_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_log_subject_id_disclosure_id"),
            ["subject_id", "disclosure_id"],
        )
        batch_op.create_index(batch_op.f("ix_disclosure_log_disclosure_id"), ["disclosure_id"])
        batch_op.create_index(batch_op.f("ix_disclosure_log_record_id"), ["record_id"])
        batch_op.create_index(batch_op.f("ix_disclosure_log_idempotency_key"), ["idempotency_key"])


def _hex(column: str) -> str:
    """SQL giving the lower-case hex text of a binary column."""
    if op.get_bind().dialect.name == "postgresql":
        return f"encode({column}, 'hex')"
    return f"nullif(lower(hex({column})), '')"  # SQLite's hex(NULL) is ''


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE identity_map ALTER COLUMN native_key TYPE VARCHAR(64) "
            "USING encode(native_key, 'hex')"
        )
    else:
        op.execute("UPDATE identity_map SET native_key = lower(hex(native_key))")
        with op.batch_alter_table("identity_map", schema=None, recreate="always") as batch_op:
            batch_op.alter_column(
                "native_key", existing_type=sa.LargeBinary(length=32), type_=sa.String(length=64)
            )
    # the logs back to one wide row per record, records back to the pseudonym
    op.create_table(
        "disclosure_log_0003",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("exchange", sa.String(length=128), nullable=False),
        sa.Column("target_system", sa.String(length=64), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "outcome", sa.String(length=16), nullable=False, comment="sending|ok|skipped|failed"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_log_0003")),
    )
    op.execute(
        "INSERT INTO disclosure_log_0003 (at, exchange, target_system, legal_basis, record_id,"
        " subject, fields, idempotency_key, outcome) "
        f"SELECT d.at, d.exchange, d.target_system, d.legal_basis, l.record_id, {_hex('s.pseudonym')},"
        " l.fields, l.idempotency_key, l.outcome FROM disclosure_log l "
        "JOIN disclosures d ON d.id = l.disclosure_id "
        "LEFT JOIN subjects s ON s.id = l.subject_id ORDER BY l.id"
    )
    op.drop_table("disclosure_log")
    op.drop_table("disclosures")
    _rename("disclosure_log_0003", "disclosure_log")
    with op.batch_alter_table("disclosure_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_log_idempotency_key"), ["idempotency_key"])
        batch_op.create_index(batch_op.f("ix_disclosure_log_record_id"), ["record_id"])
        batch_op.create_index(batch_op.f("ix_disclosure_log_subject_at"), ["subject", "at"])

    op.create_table(
        "access_log_0003",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False, comment="receive|read|reveal"),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.Column("exchange", sa.String(length=128), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_0003")),
    )
    op.execute(
        "INSERT INTO access_log_0003 (at, actor, action, subject, record_id, exchange, purpose) "
        f"SELECT e.at, e.actor, e.action, {_hex('s.pseudonym')}, a.record_id, e.exchange,"
        " e.purpose "
        "FROM access_log a JOIN access_events e ON e.id = a.event_id "
        "LEFT JOIN subjects s ON s.id = a.subject_id ORDER BY a.id"
    )
    op.drop_table("access_log")
    op.drop_table("access_events")
    _rename("access_log_0003", "access_log")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_subject_at"), ["subject", "at"])

    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "records",
        sa.Column(
            "subject",
            sa.String(length=64),
            nullable=True,
            comment="pseudonym of the client's identity code",
        ),
    )
    op.execute(
        "UPDATE records SET subject = "
        f"(SELECT {_hex('s.pseudonym')} FROM subjects s WHERE s.id = records.subject_id)"
    )
    op.drop_index(op.f("ix_records_subject_id"), table_name="records")
    if sqlite:  # a column with a foreign key is dropped by rebuilding the table
        op.execute("PRAGMA defer_foreign_keys = ON")
        with op.batch_alter_table("records", schema=None) as batch_op:
            batch_op.drop_column("subject_id")
    else:
        op.drop_constraint(op.f("fk_records_subject_id_subjects"), "records", type_="foreignkey")
        op.drop_column("records", "subject_id")
    op.create_index(op.f("ix_records_subject"), "records", ["subject"], unique=False)
    op.drop_index(op.f("ix_records_entity_id"), table_name="records")
    op.create_index(
        op.f("ix_records_entity_updated_at"), "records", ["entity", "updated_at"], unique=False
    )
    op.drop_table("subjects")
