"""Budget exhaustion under 16 concurrent payments on PostgreSQL, with real connections and committed
transactions: the discounts add up to the budget exactly, the budget lands on zero and never below."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select

from portal import create_app
from portal.agencies.models import Agency, AgencyCategory
from portal.bills.models import Bill
from portal.payments.models import Payment
from portal.promotions.models import Campaign, CampaignUse
from portal.wallet.campaigns import budget_owner
from portal.wallet.models import AccountKind, LedgerAccount
from portal.wallet.verify import ledger_violations
from tests.conftest import make_config
from tests.factories import UserFactory, bind, password_hash
from tests.promotions.campaign_helpers import fund, pay_bills, running_campaign

PAYERS = 16
OFF_FEN = 300
BUDGET_FEN = 12 * OFF_FEN + 150  # twelve whole discounts, one of 150, three payments with none


@pytest.fixture(scope="module")
def live_app(make_database, backend):
    if backend != "postgresql":
        pytest.skip("row locks between real connections are what this proves; SQLite has one writer")
    url = make_database()
    app = create_app(make_config(url, RATELIMIT_ENABLED=False))
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "race-promo": {"adapter": "local"}}
    database = app.extensions["portal.db"]
    database.engine.dispose()  # a pool with a connection for every payer, so all 16 are in flight at once
    database.engine = create_engine(url, pool_size=PAYERS + 2)
    database.sessionmaker.configure(bind=database.engine)
    yield app
    app.extensions["portal.db"].dispose()


def committed(app, work):
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        bind(session, app)
        return work(session)


def test_sixteen_concurrent_payments_spend_the_budget_exactly(live_app):
    def prepare(session):
        agency = Agency(
            code="race-promo", name_zh="竞争水务", name_en="Race Water", category=AgencyCategory.WATER
        )
        session.add(agency)
        campaign = running_campaign(session, amount_off_fen=OFF_FEN, budget_fen=BUDGET_FEN)
        payers = []
        for n in range(PAYERS):
            user = UserFactory(phone=f"136{uuid.uuid4().int % 10**8:08d}", password_hash=password_hash("x"))
            fund(session, user, 10_000)
            session.add(
                Bill(
                    agency=agency,
                    bill_no=f"RP{n}",
                    account_reference=f"7700{n:06d}",
                    payer_name="王五",
                    amount_fen=2_000,
                )
            )
            payers.append(user.id)
        return campaign.id, payers

    campaign_id, payers = committed(live_app, prepare)
    start = threading.Barrier(PAYERS, timeout=60)

    def pay(index: int) -> int:
        def work(session):
            from portal.accounts.models import User

            user = session.get(User, payers[index])
            paid = session.scalar(select(Bill).where(Bill.bill_no == f"RP{index}"))
            start.wait()
            return pay_bills(session, user, [paid]).discount_fen

        return committed(live_app, work)

    with ThreadPoolExecutor(PAYERS) as pool:
        discounts = list(pool.map(pay, range(PAYERS)))

    assert sum(discounts) == BUDGET_FEN
    assert sorted(discounts, reverse=True)[:13] == [OFF_FEN] * 12 + [150]
    assert discounts.count(0) == 3

    def check(session):
        campaign = session.get(Campaign, campaign_id)
        budget = session.scalar(
            select(LedgerAccount.balance_fen).where(
                LedgerAccount.kind == AccountKind.PROMOTION_BUDGET,
                LedgerAccount.owner_ref == budget_owner(campaign.code),
            )
        )
        uses = session.scalar(select(func.coalesce(func.sum(CampaignUse.discount_fen), 0)))
        return (
            campaign.spent_fen,
            budget,
            uses,
            session.scalar(select(func.count()).select_from(Payment)),
            ledger_violations(session),
        )

    spent, budget, uses, payments, violations = committed(live_app, check)
    assert (spent, budget, uses, payments, violations) == (BUDGET_FEN, 0, BUDGET_FEN, PAYERS, [])
