"""`flask ops backup` and `flask ops restore` on the run's backend: a database with committed payments,
a refund and delivered outbox messages is backed up, restored into a new empty database, and the copy
holds the same rows, passes wallet and audit verification, and reconciles; refusals say why."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, table, update
from sqlalchemy.engine import make_url

from portal import create_app
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.bills.selection import Selection
from portal.clock import business_day
from portal.db import get_session, utcnow
from portal.ops.postgres import BackupError, find_tool, libpq_env
from portal.payments import checkout, refunds
from portal.payments import services as payments
from portal.receipts.models import Receipt
from portal.receipts.tokens import verification_token
from portal.reports.reconciliation import reconcile
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests import factories
from tests.conftest import make_config

CARD = "6222020000000000018"
NATIONAL_ID = "11010519491231002X"
HOUSEHOLD = "3100200300"
# The keys must travel with a backup: the restored portal reads ID numbers and signs receipts with them.
KEYS = ("SECRET_KEY", "RECEIPT_SIGNING_KEY", "IDENTITY_KEYS", "IDENTITY_INDEX_KEY")
MAIN_TABLES = ("users", "agencies", "bills", "payments", "payment_items", "receipts", "refunds")
LEDGER_TABLES = ("ledger_accounts", "ledger_transfers", "ledger_entries", "audit_events", "outbox")


@dataclass
class Source:
    app: Flask
    url: str
    day: date  # the Beijing day of the payments
    receipt: str  # a receipt number
    resident_id: int


def _portal(url: str, **settings) -> Flask:
    app = create_app(make_config(url, **settings))
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "ops-water": {"adapter": "local"}}
    return app


def _pay(session, resident, agency, bill_no: str, amount_fen: int):
    factories.BillFactory(agency=agency, account_reference=HOUSEHOLD, bill_no=bill_no, amount_fen=amount_fen)
    selection = Selection(agency.code, (("account_reference", HOUSEHOLD),), bill_no)
    quote = checkout.quote(session, [selection], "en")
    wallet = wallet_service(session)
    return payments.pay(session, wallet, resident, quote, payments.chosen_amounts(quote, {}))


def _build(app: Flask) -> tuple[date, str, int]:
    """A funded resident with an ID number, two payments, a part refund; committed."""
    with app.test_request_context():
        session = get_session()
        factories.bind(session, app)
        water = factories.AgencyFactory(code="ops-water", name_en="Ops Water")
        resident = factories.UserFactory(phone="13911112222", real_name="张小三", national_id=NATIONAL_ID)
        finance = factories.FinanceFactory(email="finance@ops.example.cn")
        wallet = wallet_service(session)
        owner = wallet_owner(resident)
        wallet.open_wallet(owner, resident.verification_tier.value)
        card = wallet.link_card(owner, CARD).reference
        wallet.top_up(owner, 50_000, card=card, idempotency_key="ops-fund-0001")
        first = _pay(session, resident, water, "OPS-W-1", 4_680)
        second = _pay(session, resident, water, "OPS-W-2", 3_330)
        session.flush()  # the refund below finds the second payment's item by its id
        refund_wallet = wallet_service(session, client="refunds")
        item = second.items[0].id
        refunds.refund_item(session, refund_wallet, finance, second.reference, item, 1_000, "Twice", "ops-r1")
        receipt = session.scalars(select(Receipt.number).where(Receipt.payment_id == first.id)).first()
        made = (business_day(first.paid_at), receipt, resident.id)
        session.commit()
    return made


@pytest.fixture(scope="module")
def source(make_database) -> Source:
    url = make_database()
    app = _portal(url)
    day, receipt, resident_id = _build(app)
    delivered = app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert delivered.exit_code == 0, delivered.output
    yield Source(app, url, day, receipt, resident_id)
    app.extensions["portal.db"].dispose()


@pytest.fixture(scope="module")
def backup_file(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("backup") / "portal.backup"
    result = source.app.test_cli_runner().invoke(args=["ops", "backup", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"backup written to {output}" in result.output
    return output


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {name: connection.scalar(select(func.count()).select_from(table(name))) for name in names}
    finally:
        engine.dispose()


def test_a_restored_backup_holds_the_same_rows_and_passes_every_check(source, backup_file, make_database):
    target = make_database(migrated=False)

    result = source.app.test_cli_runner().invoke(
        args=["ops", "restore", "--input", str(backup_file), "--database-url", target]
    )

    assert result.exit_code == 0, result.output
    assert "ledger verified" in result.output and "audit chain intact" in result.output
    assert "restored database is clean" in result.output
    before, after = _row_counts(source.url), _row_counts(target)
    assert after == before
    assert all(before[name] > 0 for name in (*MAIN_TABLES, *LEDGER_TABLES, "alembic_version")), before

    restored = _portal(target, **{key: source.app.config[key] for key in KEYS})
    try:
        runner = restored.test_cli_runner()
        assert runner.invoke(args=["wallet", "verify"]).exit_code == 0
        audit = runner.invoke(args=["audit", "verify"])
        assert audit.exit_code == 0 and f"{before['audit_events']} entries" in audit.output
        with restored.test_request_context():
            session = get_session()
            report = reconcile(session, source.day, source.day, utcnow() + timedelta(hours=3))
            assert report.is_clean, [d.detail for d in report.discrepancies]
            assert session.get(User, source.resident_id).national_id == NATIONAL_ID
            token = verification_token(source.receipt)  # signed with the key the receipt was printed with
        page = restored.test_client().get(f"/receipts/verify/{token}")
        assert page.status_code == 200 and source.receipt in page.get_data(as_text=True)
    finally:
        restored.extensions["portal.db"].dispose()


def test_a_restore_whose_audit_chain_was_edited_is_reported_and_exits_non_zero(
    source, backup_file, make_database, tmp_path
):
    edited = make_database(migrated=False)
    runner = source.app.test_cli_runner()
    assert (
        runner.invoke(
            args=["ops", "restore", "--input", str(backup_file), "--database-url", edited]
        ).exit_code
        == 0
    )
    engine = create_engine(edited)
    with engine.begin() as connection:  # someone rewrites what an entry says
        connection.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="user:999"))
    engine.dispose()
    copy = _portal(edited)
    assert (
        copy.test_cli_runner().invoke(args=["ops", "backup", "--output", str(tmp_path / "e")]).exit_code == 0
    )
    copy.extensions["portal.db"].dispose()

    result = runner.invoke(
        args=[
            "ops",
            "restore",
            "--input",
            str(tmp_path / "e"),
            "--database-url",
            make_database(migrated=False),
        ]
    )

    assert result.exit_code == 1
    assert "ledger verified" in result.output and "entry 2" in result.output
    assert "restored database is NOT clean" in result.output


def test_restore_refuses_a_database_that_already_has_tables(source, backup_file, make_database):
    target = make_database()  # migrated: every table exists (and is empty)
    before = _row_counts(target)

    result = source.app.test_cli_runner().invoke(
        args=["ops", "restore", "--input", str(backup_file), "--database-url", target]
    )

    assert result.exit_code == 1
    assert "already has" in result.output and "restore only into a new, empty database" in result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert _row_counts(target) == before


def test_restore_of_a_missing_file_says_so_without_a_traceback(source, make_database, tmp_path):
    missing = tmp_path / "no-such.backup"

    result = source.app.test_cli_runner().invoke(
        args=["ops", "restore", "--input", str(missing), "--database-url", make_database(migrated=False)]
    )

    assert result.exit_code == 1
    assert f"no backup file at {missing}" in result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_a_file_that_is_no_backup_is_refused(source, make_database, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not a database\n")

    result = source.app.test_cli_runner().invoke(
        args=["ops", "restore", "--input", str(other), "--database-url", make_database(migrated=False)]
    )

    assert result.exit_code == 1 and "is not a backup made by `flask ops backup`" in result.output


def test_a_backup_never_overwrites_a_file(source, backup_file):
    size = backup_file.stat().st_size

    result = source.app.test_cli_runner().invoke(args=["ops", "backup", "--output", str(backup_file)])

    assert result.exit_code == 1 and "already exists" in result.output
    assert backup_file.stat().st_size == size
    assert not backup_file.with_name(backup_file.name + ".partial").exists()


def test_the_password_reaches_libpq_only_through_its_environment():
    url = make_url("postgresql+psycopg://portal:pw-0123@db.example.cn:6543/portal?sslmode=require")

    env = libpq_env(url, base={"PGCONNECT_TIMEOUT": "5"})

    assert env == {
        "PGHOST": "db.example.cn",
        "PGPORT": "6543",
        "PGUSER": "portal",
        "PGPASSWORD": "pw-0123",
        "PGDATABASE": "portal",
        "PGSSLMODE": "require",
        "PGCONNECT_TIMEOUT": "5",
    }
    with pytest.raises(BackupError, match="'foo' is not supported"):
        libpq_env(make_url("postgresql+psycopg://portal@db/portal?foo=1"), base={})


def test_a_failing_pg_dump_names_the_database_but_never_the_password(backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("pg_dump runs on the PostgreSQL leg")
    server = make_url(os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/x")
    url = server.set(password="never-shown-pw", database="portal_no_such_database")
    app = create_app(make_config(url.render_as_string(hide_password=False)))

    result = app.test_cli_runner().invoke(args=["ops", "backup", "--output", str(tmp_path / "x.backup")])

    assert result.exit_code == 1
    assert "pg_dump failed on" in result.output and "portal_no_such_database" in result.output
    assert "never-shown-pw" not in result.output and "***" in result.output
    assert not list(tmp_path.iterdir())  # no partial file left behind
    app.extensions["portal.db"].dispose()


def test_the_tools_are_found_in_the_newest_versioned_folder_when_not_on_path(tmp_path):
    for version in ("9.6", "15", "13"):
        tool = tmp_path / "lib" / version / "bin" / "pg_restore"
        tool.parent.mkdir(parents=True)
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    versioned = str(tmp_path / "lib" / "*" / "bin")

    assert find_tool("pg_restore", search_path=str(tmp_path), versioned=versioned) == str(
        tmp_path / "lib" / "15" / "bin" / "pg_restore"
    )
    with pytest.raises(BackupError, match="pg_dump was not found on PATH or under"):
        find_tool("pg_dump", search_path=str(tmp_path), versioned=versioned)
