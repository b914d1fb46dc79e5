"""Alembic environment: runs on the connection main.py hands over, or opens one itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from apranova_api import models  # noqa: F401  (registers the tables on Base.metadata)
from apranova_api.db import Base, make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use ``config.attributes["connection"]`` when given, else ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _run(new_connection)
    engine.dispose()


run_migrations_online()
