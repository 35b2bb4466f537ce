"""A checkout process killed at any step leaves no trace: no payment, no money moved, the bill unpaid,
the ledger consistent. Killed after its commit, everything is there."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.bills.models import Bill, StoredBillStatus
from portal.outbox import OutboxMessage
from portal.payments.models import Payment
from portal.receipts.models import Receipt
from portal.wallet.verify import ledger_violations
from tests.payments.test_races import balance_of, committed, live_app, resident_with_bill  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["payment_claimed", "bills_claimed", "money_moved", "receipt_and_outbox_written"]


def run_child(app, phone: str, account: str, step: str) -> int:
    url = app.config["DATABASE_URL"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.payments.crash_child", url, phone, account, step]
    return subprocess.run(command, cwd=ROOT, env=env, timeout=120, capture_output=True).returncode


def counts(app, user_id: int) -> tuple[int, int, int]:
    def read(session):
        payments = session.scalar(select(func.count()).select_from(Payment).where(Payment.user_id == user_id))
        receipts = session.scalar(select(func.count()).select_from(Receipt))
        messages = session.scalar(select(func.count()).select_from(OutboxMessage))
        return payments, receipts, messages

    return committed(app, read)


@pytest.mark.parametrize("step", STEPS)
def test_a_checkout_killed_at_any_step_moves_nothing(live_app, step):  # noqa: F811
    account = str(8_000_000_000 + uuid.uuid4().int % 10**9)
    phone, user_id = resident_with_bill(live_app, account)
    before = counts(live_app, user_id)

    assert run_child(live_app, phone, account, step) == 17  # it died at the step

    assert counts(live_app, user_id)[0] == 0
    assert counts(live_app, user_id)[1:] == before[1:]
    assert balance_of(live_app, user_id) == 100_000
    status = committed(
        live_app, lambda s: s.scalar(select(Bill.status).where(Bill.account_reference == account))
    )
    assert status is StoredBillStatus.UNPAID
    assert committed(live_app, ledger_violations) == []


def test_a_checkout_that_runs_to_its_commit_is_all_there(live_app):  # noqa: F811
    account = str(8_000_000_000 + uuid.uuid4().int % 10**9)
    phone, user_id = resident_with_bill(live_app, account)

    assert run_child(live_app, phone, account, "no such step") == 0

    assert counts(live_app, user_id)[0] == 1
    assert balance_of(live_app, user_id) == 100_000 - 3_000
    assert committed(live_app, ledger_violations) == []
