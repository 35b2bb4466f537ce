"""Backup and restore of the portal's database as one file. PostgreSQL: pg_dump's custom format (one
consistent snapshot, taken while the portal runs) and pg_restore in one transaction. SQLite: its online
backup API, which copies a consistent image of the file even while the portal writes to it.

A restore goes only into a new, empty database: restoring over live data would mix two ledgers."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from portal.ops.postgres import BackupError, run_tool

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


def backup(database_url: str, output: Path) -> str:
    """Write a backup of ``database_url`` to ``output`` (which must not exist); returns the backend.
    The file appears only once complete: it is written under a .partial name and renamed."""
    url = make_url(database_url)
    backend = _backend(url)
    if output.exists():
        raise BackupError(f"{output} already exists; choose a new file name (backups are never overwritten)")
    if not output.parent.is_dir():
        raise BackupError(f"the folder {output.parent} does not exist")
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if backend == "sqlite":
            _sqlite_copy(_sqlite_source(url), partial)
        else:
            run_tool("pg_dump", ["--format=custom", f"--file={partial}"], url)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return backend


def restore(source: Path, database_url: str) -> str:
    """Load the backup ``source`` into the empty database ``database_url``; returns the backend."""
    url = make_url(database_url)
    backend = _backend(url)
    kind = backup_kind(source)
    if kind != backend:
        raise BackupError(f"{source} is a backup of a {kind} database; restore it into a {kind} URL")
    tables = existing_tables(url)
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise BackupError(
            f"the database {_shown(url)} already has {len(tables)} tables ({shown}); "
            "restore only into a new, empty database"
        )
    if backend == "sqlite":
        _sqlite_copy(_sqlite_uri(source), Path(url.database))
    else:
        arguments = ["--no-owner", "--exit-on-error", "--single-transaction", f"--dbname={url.database}"]
        run_tool("pg_restore", [*arguments, str(source)], url)
    return backend


def backup_kind(source: Path) -> str:
    """Which backend a backup file is of, told by its first bytes."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise BackupError(f"{source} is not a backup made by `flask ops backup` (neither SQLite nor pg_dump)")


def existing_tables(url: URL) -> list[str]:
    """Every table in the database outside the system schemas (an empty list for a new database)."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        schemas = [name for name in inspector.get_schema_names() if name not in _SYSTEM_SCHEMAS]
        return sorted(
            table if schema in ("main", "public") else f"{schema}.{table}"
            for schema in schemas
            for table in inspector.get_table_names(schema=schema)
        )
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise BackupError(f"cannot open the database {_shown(url)}: {reason}") from error
    finally:
        engine.dispose()


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backup and restore support SQLite and PostgreSQL, not {backend}")
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return backend


def _sqlite_source(url: URL) -> str:
    path = Path(url.database)
    if not path.is_file():
        raise BackupError(f"the SQLite database {path} does not exist")
    return _sqlite_uri(path)


def _sqlite_uri(path: Path) -> str:
    # Read-only: a backup must never create or change its source.
    return path.resolve().as_uri() + "?mode=ro"


def _sqlite_copy(source_uri: str, target: Path) -> None:
    """sqlite3's online backup, page by page, then a quick check of the copy."""
    source = sqlite3.connect(source_uri, uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"SQLite could not copy the database: {error}") from error
    finally:
        source.close()
    if verdict != "ok":
        raise BackupError(f"the copy in {target} fails SQLite's quick check: {verdict}")


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)
