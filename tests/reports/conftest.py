"""Payments made at chosen moments (the wallet's clock), so report days and boundaries can be tested;
the payments go through the real checkout, payment and refund services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.bills.selection import Selection
from portal.db import get_session
from portal.payments import checkout, services
from portal.payments.refunds import refund_item
from portal.wallet.funding import GATEWAYS
from portal.wallet.owners import wallet_owner
from portal.wallet.services import WalletService
from tests.factories import AgencyFactory, BillFactory, FinanceFactory, UserFactory

CARD = "6222020000000000018"


def wallet_at(app, db, moment: datetime) -> WalletService:
    return WalletService(
        db, limits=app.config["WALLET_LIMITS"], gateway=GATEWAYS["sandbox"](), clock=lambda: moment
    )


def local_agency(app, code: str, **values):
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], code: {"adapter": "local"}}
    return AgencyFactory(code=code, **values)


@pytest.fixture
def payer(app, db):
    user = UserFactory(phone="13900000077", real_name="李四")
    with app.app_context():
        wallet = wallet_at(app, db, datetime(2026, 3, 1, tzinfo=UTC))
        owner = wallet_owner(user)
        wallet.open_wallet(owner, "id_and_card")
        card = wallet.link_card(owner, CARD).reference
        wallet.top_up(owner, 400_000, card=card, idempotency_key="reports-fund")
    return user


@pytest.fixture
def finance(db):
    return FinanceFactory(email="finance@reports.example.cn")


class Payments:
    """Makes paid bills of local agencies at given moments."""

    def __init__(self, app, db, payer) -> None:
        self.app, self.db, self.payer = app, db, payer

    def pay(self, agency, amount_fen: int, moment: datetime, *, description: str = "Water 2026-03"):
        bill = BillFactory(
            agency=agency, account_reference="3100200300", amount_fen=amount_fen, description=description
        )
        selection = Selection(agency.code, (("account_reference", "3100200300"),), bill.bill_no)
        with self.app.test_request_context():
            session = get_session()  # the request's session, as a view would use; one per connection use
            quote = checkout.quote(session, [selection], "en")
            wallet = wallet_at(self.app, session, moment)
            payment = services.pay(session, wallet, session.merge(self.payer), quote, [amount_fen])
            session.commit()
            return payment

    def refund(self, payment, amount_fen: int, moment: datetime, staff):
        with self.app.test_request_context():
            session = get_session()
            refund = refund_item(
                session,
                wallet_at(self.app, session, moment),
                session.merge(staff),
                payment.reference,
                payment.items[0].id,
                amount_fen,
                "paid twice at the counter",
                f"refund-{payment.reference}-{amount_fen}",
            )
            session.commit()
            return refund


@pytest.fixture
def payments(app, db, payer) -> Payments:
    return Payments(app, db, payer)
