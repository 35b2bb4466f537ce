"""Two worker processes on one committed database (two real connections): each reminder is queued and
sent once, and auto-pay pays each bill once."""

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.agencies.models import Agency, AgencyCategory
from portal.autopay.models import AutopaySetting
from portal.bills.models import Bill
from portal.bills.services import save_account
from portal.clock import business_day
from portal.db import utcnow
from portal.notify.models import Notification
from portal.payments.models import Payment
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import make_config
from tests.factories import UserFactory
from tests.payments.conftest import CARD

RESIDENTS = 12
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def live_app(make_database):
    url = make_database()
    app = create_app(make_config(url, RATELIMIT_ENABLED=False))
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "two-water": {"adapter": "local"}}
    yield app, url
    app.extensions["portal.db"].dispose()


def seed(app) -> None:
    due = business_day(utcnow()) + timedelta(days=1)
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        agency = Agency(
            code="two-water", name_zh="双工水务", name_en="Two Water", category=AgencyCategory.WATER
        )
        session.add(agency)
        wallet = wallet_service(session)
        for n in range(RESIDENTS):
            user = UserFactory.build(phone=f"1360000{n:04d}")
            session.add(user)
            session.add(
                Bill(
                    agency=agency,
                    bill_no=f"T-{n}",
                    account_reference=f"88{n:08d}",
                    payer_name="王五",
                    amount_fen=1_000 + n,
                    due_date=due,
                )
            )
            session.flush()  # the user's id names the wallet and the saved account
            account = save_account(session, user, agency, {"account_reference": f"88{n:08d}"}, "家")
            session.flush()  # the account's id names its auto-pay setting
            session.add(
                AutopaySetting(
                    saved_account_id=account.id,
                    user_id=user.id,
                    enabled=True,
                    monthly_cap_fen=100_000,
                    since=due - timedelta(days=3),
                )
            )
            wallet.open_wallet(wallet_owner(user), "basic")
            card = wallet.link_card(wallet_owner(user), CARD).reference
            wallet.top_up(wallet_owner(user), 50_000, card=card, idempotency_key=f"two-workers-fund-{n:04d}")


def two_workers(url: str, tmp_path: Path) -> list[str]:
    go = tmp_path / f"go-{utcnow().timestamp()}"
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.notify.worker_child", url, str(go)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()
    recipients = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        recipients += json.loads(out.strip().splitlines()[-1])
    return recipients


def test_two_workers_remind_once_and_auto_pay_once(live_app, tmp_path):
    app, url = live_app
    seed(app)

    first = two_workers(url, tmp_path)  # reminders only: nothing is paid before a reminder went out
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        # the notice period (AUTOPAY_NOTICE_MINUTES) passes: the reminders went out two hours ago
        for notice in session.scalars(sa.select(Notification)):
            notice.created_at -= timedelta(hours=2)
            notice.sent_at -= timedelta(hours=2)
    second = two_workers(url, tmp_path)  # now the bills are paid (and the payments confirmed)
    third = two_workers(url, tmp_path)  # nothing left to do

    assert sorted(first) == sorted(f"1360000{n:04d}" for n in range(RESIDENTS))  # one reminder each
    assert Counter(second) == Counter({f"1360000{n:04d}": 1 for n in range(RESIDENTS)})  # one "paid" each
    assert third == []
    with app.app_context(), app.extensions["portal.db"].sessionmaker() as session:
        kinds = Counter(session.scalars(sa.select(Notification.kind)))
        paid = session.execute(sa.select(Payment.user_id, sa.func.count()).group_by(Payment.user_id)).all()
        balances = {wallet_service(session).balance(f"user:{uid}").posted_fen for uid, _n in paid}
    assert kinds == {"due": RESIDENTS, "paid": RESIDENTS}
    assert len(paid) == RESIDENTS and {count for _uid, count in paid} == {1}
    assert len(balances) > 1 and all(40_000 < b < 50_000 for b in balances)
