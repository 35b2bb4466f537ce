"""Test databases: the migrations run once per run into a template, and every database a test needs is
a copy of it (PostgreSQL `CREATE DATABASE ... TEMPLATE`, SQLite a copied file), or an empty one for the
tests of the migrations themselves.

With pytest-xdist the controller builds the template before the workers start and hands its URL to
each of them (``workerinput``); a run without xdist builds it in its own process. Whoever built the
template drops it at the end of the run; each worker drops the copies it made.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from portal import migrate

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def _admin(statement: str) -> None:
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


def _postgres_url(name: str) -> str:
    return make_url(server_url()).set(database=name).render_as_string(hide_password=False)


class Template:
    """The schema at head, migrated once; ``copy()`` gives a database of it to a test."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend, self.url = backend, url

    @classmethod
    def build(cls, backend: str) -> Template:
        if backend == "sqlite":
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='portal-template-')) / 'template.sqlite3'}"
        else:
            name = f"portal_template_{uuid.uuid4().hex[:12]}"
            _admin(f'CREATE DATABASE "{name}"')
            url = _postgres_url(name)
        migrate.upgrade(url)
        return cls(backend, url)

    def drop(self) -> None:
        if self.backend == "sqlite":
            shutil.rmtree(Path(make_url(self.url).database).parent, ignore_errors=True)
        else:
            _admin(f'DROP DATABASE IF EXISTS "{make_url(self.url).database}" WITH (FORCE)')


class Databases:
    """The databases one test process makes: copies of the template, or empty ones; all dropped at the
    end of the process."""

    def __init__(self, template: Template, folder: Path) -> None:
        self.template, self.folder = template, folder
        self.created: list[str] = []

    def make(self, migrated: bool = True) -> str:
        """A new database: at the newest migration (a copy of the template), or empty."""
        if self.template.backend == "sqlite":
            path = self.folder / f"portal-{uuid.uuid4().hex[:12]}.sqlite3"
            if migrated:
                shutil.copyfile(make_url(self.template.url).database, path)
            return f"sqlite:///{path}"
        name = f"portal_test_{uuid.uuid4().hex[:12]}"
        source = f' TEMPLATE "{make_url(self.template.url).database}"' if migrated else ""
        _create(f'CREATE DATABASE "{name}"{source}')
        self.created.append(name)
        return _postgres_url(name)

    def drop_all(self) -> None:
        for name in self.created:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _create(statement: str, attempts: int = 20) -> None:
    """PostgreSQL refuses to copy a template while another session copies it at the same moment
    ("source database is being accessed by other users"): the other worker's copy takes a moment."""
    for attempt in range(attempts):
        try:
            _admin(statement)
            return
        except OperationalError as error:
            if "being accessed by other users" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.2)
