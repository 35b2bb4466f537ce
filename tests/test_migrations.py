"""The schema comes only from migrations; the models must describe exactly that schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from portal import migrate
from portal.models import metadata


def test_models_and_migrations_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()

    assert differences == []


def test_migrations_downgrade_to_base_and_upgrade_again(make_database):
    url = make_database(migrated=False)
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()

    migrate.upgrade(url)
    engine = create_engine(url)
    assert {"users", "agencies", "login_sessions"} <= set(inspect(engine).get_table_names())
    engine.dispose()
