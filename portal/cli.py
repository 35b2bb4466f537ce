"""Command-line interface: `flask --app portal db|users|demo|wallet|audit|ops|analytics ...`."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from portal import demo, worker
from portal.accounts import idcrypto, key_rotation, twofactor
from portal.accounts import services as account_services
from portal.agencies.sandbox import Faults, create_sandbox_app
from portal.analytics import rollup
from portal.audit.models import AuditEvent
from portal.audit.services import chain_problems
from portal.authz import STAFF_ROLES, Role
from portal.bills import services as bill_services
from portal.counter import halls
from portal.db import get_database
from portal.errors import PortalError
from portal.ops import backup, checks
from portal.wallet.factory import wallet_service
from portal.wallet.verify import ledger_violations, purge_idempotency_keys

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="Staff accounts.")
demo_cli = AppGroup("demo", help="Demonstration data.")
wallet_cli = AppGroup("wallet", help="The wallet ledger.")
agencies_cli = AppGroup("agencies", help="Agency systems.")
audit_cli = AppGroup("audit", help="The hash-chained audit log.")
outbox_cli = AppGroup("outbox", help="The worker: agency deliveries, receipts, batches, notices, auto-pay.")
ops_cli = AppGroup("ops", help="Operations: backup and restore of the database.")
analytics_cli = AppGroup("analytics", help="The analytics module's daily roll-ups.")


@agencies_cli.command("sandbox")
@click.option("--port", default=5100, show_default=True)
@click.option(
    "--faults", default="", help='Shares of requests to spoil, e.g. "error=0.1,hang=0.05,lost=0.05".'
)
def agencies_sandbox(port: int, faults: str) -> None:
    """Serve the sandbox agency server (demo traffic police and tax bureau) on 127.0.0.1."""
    click.echo(f"Sandbox agency server (made-up data): http://127.0.0.1:{port}")
    secret = current_app.config["SANDBOX_AGENCY_SECRET"]
    app = create_sandbox_app(secret, faults=Faults.parse(faults))
    run_simple("127.0.0.1", port, app, threaded=True)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from portal import migrate  # for weight: Alembic (~9 MB) loads only for these commands

    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database upgraded to {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from portal import migrate  # for weight, as above

    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database downgraded to {revision}")


@users_cli.command("create")
@click.option("--role", type=click.Choice([role.value for role in STAFF_ROLES]), required=True)
@click.option("--email", required=True)
@click.option("--agency", "agency_code", help="Agency code; required for clerks.")
@click.option("--hall", "hall_code", help="Service hall code; required for counter cashiers.")
@click.option("--name", "display_name", default=None)
@click.password_option(help="Initial password; the user must change it at first login.")
def users_create(
    role: str,
    email: str,
    agency_code: str | None,
    hall_code: str | None,
    display_name: str | None,
    password: str,
) -> None:
    """Create a staff account (clerk, finance, admin or counter cashier)."""
    request = account_services.StaffRequest(
        email=email, role=Role(role), password=password, agency_code=agency_code, display_name=display_name
    )
    try:
        with get_database().write_transaction() as session:
            user = halls.create_staff(session, request, hall_code)
    except PortalError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"created {user.role.value} {user.email}")


@users_cli.command("reset-two-factor")
@click.option("--email", "login", required=True, help="The user's e-mail address (or mobile number).")
def users_reset_two_factor(login: str) -> None:
    """Remove a user's lost authenticator: they set two-factor up again at their next login."""

    with get_database().write_transaction() as session:
        user = account_services.find_by_identifier(session, login)
        if user is None:
            raise click.ClickException(f"no user {login}")
        twofactor.reset(session, user, actor=None)
    click.echo(f"two-factor reset for {login}; all their sessions ended")


@users_cli.command("unlock")
@click.argument("login")
def users_unlock(login: str) -> None:
    """End the lockout of an account after too many failed logins (LOGIN: mobile number or e-mail)."""
    with get_database().write_transaction() as session:
        user = account_services.find_by_identifier(session, login)
        if user is None:
            raise click.ClickException(f"no user {login}")
        was_locked = account_services.unlock(session, user, actor=None)
    click.echo(f"{login} unlocked" if was_locked else f"{login} was not locked; failed logins reset")


@users_cli.command("rotate-ids")
def users_rotate_ids() -> None:
    """Re-encrypt national ID numbers, two-factor secrets and sensitive saved bill queries under the first
    key of IDENTITY_KEYS (after adding a new key)."""

    with get_database().write_transaction() as session:
        ids = key_rotation.rotate(session)
        secrets = key_rotation.rotate_totp_secrets(session)
        queries = bill_services.rotate_saved_queries(session)
    key_id = idcrypto.current_vault().current_key_id
    click.echo(f"{ids} ID numbers re-encrypted under key {key_id}")
    click.echo(f"{secrets} two-factor secrets and {queries} saved queries re-encrypted under key {key_id}")


@users_cli.command("reindex")
def users_reindex() -> None:
    """Recompute the blind indexes of ID numbers and saved accounts under IDENTITY_INDEX_KEY (after the old
    key moved to IDENTITY_PREVIOUS_INDEX_KEYS); afterwards the old key can be removed."""

    with get_database().write_transaction() as session:
        ids = key_rotation.reindex(session)
        accounts = bill_services.reindex_saved_accounts(session)
    click.echo(f"{ids} ID number indexes and {accounts} saved account indexes recomputed")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo agencies and logins (idempotent)."""
    with get_database().write_transaction() as session:
        logins = demo.seed(session, wallet_service(session))
    click.echo("Demo logins (log in at /account/login):")
    for login in logins:
        agency = f" (agency: {login.agency_code})" if login.agency_code else ""
        click.echo(f"  {login.role.value:<9} {login.login:<26} {login.password}{agency}")
    click.echo("Staff set up two-factor authentication (an authenticator app) at their first login.")


@wallet_cli.command("verify")
def wallet_verify() -> None:
    """Check every ledger invariant; exit 1 and list the violations if any is broken."""
    session = get_database().sessionmaker()
    try:
        violations = ledger_violations(session)
    finally:
        session.close()
    if not _report_ledger(violations):
        raise SystemExit(1)


def _report_ledger(violations: list[str]) -> bool:
    """Print what `wallet verify` prints; True when the ledger is sound."""
    for line in violations:
        click.echo(line, err=True)
    if not violations:
        click.echo("ledger verified: every transfer balances, balances match entries, no wallet below zero")
    return not violations


@wallet_cli.command("expire-holds")
def wallet_expire_holds() -> None:
    """Release holds whose time is up."""
    with get_database().write_transaction() as session:
        count = wallet_service(session).expire_holds()
    click.echo(f"{count} holds expired")


@wallet_cli.command("purge-keys")
def wallet_purge_keys() -> None:
    """Forget idempotency keys older than WALLET_IDEMPOTENCY_DAYS (never fewer than 30)."""
    days = max(30, current_app.config["WALLET_IDEMPOTENCY_DAYS"])
    with get_database().write_transaction() as session:
        count = purge_idempotency_keys(session, older_than_days=days)
    click.echo(f"{count} idempotency keys older than {days} days removed")


@outbox_cli.command("run")
@click.option("--once", is_flag=True, help="Stop when no message is due instead of waiting for more.")
def outbox_run(once: bool) -> None:
    """Deliver outbox messages and run the scans (several workers may run at once on PostgreSQL).
    SIGTERM or Ctrl-C: the message in hand is finished, then the worker exits 0."""

    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    delivered = worker.run(get_database(), once=once, stop=stop)
    click.echo(f"{delivered} messages delivered" + ("; stopped on request" if stop.is_set() else ""))


@outbox_cli.command("scan")
def outbox_scan() -> None:
    """One pass of the worker's scans: bills falling due, late agency confirmations, auto-pay."""

    counts = worker.scan(get_database())
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@analytics_cli.command("rollup")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First Beijing day.")
@click.option(
    "--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last Beijing day (default: the first)."
)
def analytics_rollup(first, last) -> None:
    """Roll those days up again from the raw rows (idempotent: the same rows each time)."""
    start, end = first.date(), (last or first).date()
    if end < start:
        raise click.BadParameter("--to is before --from")
    day = start
    while day <= end:
        with get_database().write_transaction() as session:
            rollup.roll_up_day(session, day)
        day += timedelta(days=1)
    click.echo(f"rolled up {(end - start).days + 1} day(s) from {start.isoformat()} to {end.isoformat()}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit chain; name every entry that was edited, deleted or reordered (exit 1 if any)."""
    with get_database().sessionmaker() as session:
        problems = list(chain_problems(session))
        entries = session.scalar(select(func.count()).select_from(AuditEvent))
    if not _report_audit(problems, entries):
        raise SystemExit(1)


def _report_audit(problems: list, entries: int) -> bool:
    """Print what `audit verify` prints; True when the chain is intact."""
    for problem in problems:
        where = f"entry {problem.seq}" + (f" (id {problem.event_id})" if problem.event_id else "")
        click.echo(f"{where}: {problem.problem}", err=True)
    if not problems:
        click.echo(f"audit chain intact: {entries} entries")
    return not problems


@ops_cli.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def ops_backup(output: Path) -> None:
    """Back up the database to OUTPUT: pg_dump's custom format on PostgreSQL, a copy on SQLite."""

    try:
        backend = backup.backup(current_app.config["DATABASE_URL"], output)
    except PortalError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{backend} backup written to {output} ({output.stat().st_size} bytes)")


@ops_cli.command("restore")
@click.option("--input", "source", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--database-url", required=True, help="A new, empty database to restore into.")
def ops_restore(source: Path, database_url: str) -> None:
    """Restore a backup into a new, empty database, then check its ledger and audit chain there."""

    try:
        backend = backup.restore(source, database_url)
    except PortalError as error:
        raise click.ClickException(error.message) from error
    verdict = checks.verify_database(database_url)
    click.echo(f"{backend} backup {source} restored (schema at migration {verdict.revision or 'unknown'})")
    ledger_clean = _report_ledger(verdict.ledger_violations)
    audit_clean = _report_audit(verdict.audit_problems, verdict.audit_entries)
    if not (ledger_clean and audit_clean):
        click.echo("restored database is NOT clean: do not use it before the problems above are explained")
        raise SystemExit(1)
    click.echo("restored database is clean: wallet verify and audit verify pass")


def init_app(app: Flask) -> None:
    groups = (
        db_cli,
        users_cli,
        demo_cli,
        wallet_cli,
        agencies_cli,
        outbox_cli,
        audit_cli,
        ops_cli,
        analytics_cli,
    )
    for group in groups:
        app.cli.add_command(group)
