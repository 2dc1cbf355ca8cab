"""Alembic environment: runs migrations on the connection or URL the caller hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from storage.db import null_pool_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata

# A fixed key for pg_advisory_lock so that two processes starting together
# do not both try to create the schema.
MIGRATION_LOCK_KEY = 0x0C0B0701


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = null_pool_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    dialect = context.get_context().dialect.name
    if dialect == "postgresql":
        context.get_bind().execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if dialect == "postgresql":
            context.get_bind().execute(
                text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY}
            )
            context.get_bind().commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `cop-bot db upgrade`")
run_migrations_online()
