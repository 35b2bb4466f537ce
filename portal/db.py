"""Engine, one session per request, the declarative base, and the one commit point.

Views never commit. The request wrapper commits when the view produced a successful response and
rolls back otherwise (indico's RH pattern); CLI commands and workers use ``with session.begin():``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import ClassVar

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import BigInteger, DateTime, Engine, Enum, Integer, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; store timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# 64-bit integers everywhere (fen amounts outgrow 32 bits); SQLite only auto-numbers INTEGER keys.
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict] = {datetime: UTCDateTime(), int: BigInt}


def string_enum(enum_class: type[enum.Enum], name: str, length: int = 20) -> Enum:
    """An enum stored as its values in a plain string column (no database enum type to migrate)."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_engine(url: str, pre_ping: bool = False) -> Engine:
    """Create the engine with the per-backend settings the portal relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Connections to a file are cheap; enough of them that threads wait on SQLite's own lock (with
        # its busy timeout) rather than time out waiting for a pool slot.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=20
        )
        _configure_sqlite(engine)
        return engine
    # Without a ping, a connection PostgreSQL dropped fails one request; SQLAlchemy then replaces the
    # whole pool. Recycling hourly keeps connections from outliving server-side idle limits.
    return create_engine(url, pool_pre_ping=pre_ping, pool_recycle=3600, pool_size=5, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; take it over
    # (SQLAlchemy's documented recipe) and switch on foreign keys, which SQLite leaves off.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        # Writers take the database lock at BEGIN (IMMEDIATE) and wait for it (busy_timeout): a deferred
        # transaction that upgrades to writing can fail with "database is locked" at once instead.
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITE_OPTION = "portal_write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Database:
    """Holds the engine and the session factory of one app."""

    def __init__(self, url: str, pre_ping: bool = False) -> None:
        self.engine = build_engine(url, pre_ping)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=True)

    @contextmanager
    def write_transaction(self) -> Iterator[Session]:
        """One unit of work for CLI commands and workers: commits at the end, rolls back on error.
        On SQLite it begins IMMEDIATE, as write requests do."""
        session = self.sessionmaker()
        try:
            with session.begin():
                start_writing(session)
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask) -> None:
    config = app.config
    pre_ping = config.get("DATABASE_POOL_PRE_PING", False)
    app.extensions["portal.db"] = Database(config["DATABASE_URL"], pre_ping)
    app.after_request(_commit_or_roll_back)
    app.teardown_appcontext(_close_session)


def get_database() -> Database:
    return current_app.extensions["portal.db"]


def get_session() -> Session:
    """The session of the current request (or app context), created on first use."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
        if has_request_context() and request.method not in SAFE_METHODS:
            start_writing(g.db_session)
    return g.db_session


def start_writing(session: Session) -> None:
    """Begin the session's transaction as a writer (BEGIN IMMEDIATE on SQLite; a no-op elsewhere)."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        session.connection(execution_options={WRITE_OPTION: True})


def database_away(error: BaseException | None) -> bool:
    """The database restarted, dropped this connection or is down: not a bug, a moment to retry. Also
    an error raised from such a one (a domain's "roll back and retry", say)."""
    while error is not None:
        if isinstance(error, PendingRollbackError | OperationalError | InterfaceError):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__
    return False


KEPT_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Request-ID",
)


def _commit_or_roll_back(response: Response) -> Response:
    # The one commit point: a response below 400 means the view finished its work.
    session: Session | None = g.get("db_session")
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    except SQLAlchemyError as error:
        if not database_away(error):
            raise
        # The line to the database broke at the commit: whether it landed is unknown, so the visitor
        # is told to send it again (the idempotency keys make that safe) by the app's error handler.
        unavailable = current_app.make_response(current_app.handle_user_exception(error))
        for name in KEPT_HEADERS:
            if name in response.headers:
                unavailable.headers.setdefault(name, response.headers[name])
        return unavailable
    return response


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
