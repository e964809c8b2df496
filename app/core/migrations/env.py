"""Alembic environment: runs migrations on the connection ``app.core.migrate`` hands over."""

from alembic import context

from app.core.migrate import metadata, portable_drops

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata(),
    render_as_batch=True,
    process_revision_directives=portable_drops,
)
with context.begin_transaction():
    context.run_migrations()
