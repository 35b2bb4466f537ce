"""Alembic environment: the database URL comes from config.py, the metadata from the models."""

from __future__ import annotations

from alembic import context

from config import load_config
from portal.db import UTCDateTime, build_engine
from portal.models import metadata

alembic_config = context.config


def _url() -> str:
    return alembic_config.attributes.get("database_url") or load_config().DATABASE_URL


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = alembic_config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = build_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _render_item(type_: str, obj, autogen_context):
    # Migrations stay free of app imports: UTCDateTime is a plain timezone-aware DateTime in the schema.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
