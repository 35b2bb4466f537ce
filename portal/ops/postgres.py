"""pg_dump and pg_restore, found on PATH or in Debian's versioned folders, and told where to connect
through libpq's environment variables, so a password never shows on a command line or in `ps`."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess  # runs pg_dump and pg_restore, never a shell  # nosec B404
from collections.abc import Mapping

from sqlalchemy.engine import URL

from portal.errors import PortalError

# Debian and Ubuntu install each server version's tools under its own folder, newest last when sorted.
VERSIONED_BIN = "/usr/lib/postgresql/*/bin"

# Query parameters of a SQLAlchemy URL that libpq also reads from the environment.
_QUERY_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(PortalError):
    """A backup or restore cannot go ahead; the message says why in words an operator can act on."""


def find_tool(name: str, search_path: str | None = None, versioned: str = VERSIONED_BIN) -> str:
    """The path of ``name`` on PATH, else the newest version under ``versioned``."""
    found = shutil.which(name, path=search_path)
    if found:
        return found
    candidates = sorted(glob.glob(os.path.join(versioned, name)), key=_version_key)
    if candidates:
        return candidates[-1]
    raise BackupError(
        f"{name} was not found on PATH or under {versioned}; install the PostgreSQL client tools "
        "(the Debian package postgresql-client) of the server's major version or newer."
    )


def _version_key(path: str) -> tuple[int, ...]:
    version = path.split(os.sep)[-3]  # /usr/lib/postgresql/<version>/bin/<tool>
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def libpq_env(url: URL, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a libpq tool to reach the database of ``url`` (a postgresql+psycopg URL);
    what the URL leaves out comes from ``base`` (the process environment), as it would for psycopg."""
    env = dict(os.environ if base is None else base)
    for key, value in url.query.items():
        if key not in _QUERY_ENV or not isinstance(value, str):
            raise BackupError(f"the database URL's parameter {key!r} is not supported by backup/restore")
        env[_QUERY_ENV[key]] = value
    given = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password}
    env.update({name: str(value) for name, value in given.items() if value is not None})
    if not url.database:
        raise BackupError("the database URL names no database")
    env["PGDATABASE"] = url.database
    return env


def run_tool(name: str, arguments: list[str], url: URL) -> None:
    """Run a PostgreSQL client tool against ``url``; its own error text (never a password) on failure."""
    command = [find_tool(name), *arguments]
    environment = libpq_env(url)
    completed = subprocess.run(  # noqa: S603 - a tool found above, arguments made here  # nosec B603
        command, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        detail = completed.stderr.strip() or f"exit status {completed.returncode}"
        raise BackupError(f"{name} failed on {url.render_as_string(hide_password=True)}: {detail}")
