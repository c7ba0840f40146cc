"""Alembic environment of the hub store. Run through ``hub.store.db.migrate`` or
``hub db upgrade``; the connection is passed in ``config.attributes["connection"]``."""

from alembic import context

from hub.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the hub always passes a connection
    raise RuntimeError("run migrations through hub.store.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
