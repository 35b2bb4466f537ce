"""Two finance officers settle the same agency's day at the same moment, on real connections with
committed data: one payout, one settlement row, and both see the same settlement."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from portal import create_app
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.reports import settlement
from portal.reports.models import Settlement
from portal.wallet.factory import wallet_service
from portal.wallet.models import Transfer, TransferKind
from portal.wallet.types import PaymentLeg
from portal.wallet.verify import ledger_violations
from tests.conftest import make_config
from tests.factories import password_hash
from tests.reports.conftest import CARD, wallet_at

DAY = date(2026, 2, 10)


def test_two_officers_settling_one_day_at_once_pay_out_once(make_database):
    url = make_database()
    app = create_app(make_config(url, RATELIMIT_ENABLED=False))
    database = app.extensions["portal.db"]
    try:
        with app.app_context(), database.write_transaction() as session:
            session.add(
                Agency(code="race-gas", name_zh="竞争燃气", name_en="Race Gas", category=AgencyCategory.GAS)
            )
            officers = [
                User(role=Role.FINANCE, email=f"o{n}@city.example.cn", password_hash=password_hash("x"))
                for n in range(2)
            ]
            session.add_all(officers)
            session.flush()  # the officers' ids are read below
            officer_ids = [officer.id for officer in officers]
            wallet = wallet_at(app, session, datetime(2026, 2, 10, 3, tzinfo=UTC))
            wallet.open_wallet("user:race", "id_and_card")
            wallet.open_agency_account("race-gas")
            card = wallet.link_card("user:race", CARD).reference
            wallet.top_up("user:race", 50_000, card=card, idempotency_key="race-fund")
            wallet.pay("user:race", [PaymentLeg("agency:race-gas", 12_300)], idempotency_key="race-pay")

        def settle(officer_id: int) -> int:
            with app.app_context(), database.write_transaction() as session:
                officer = session.get(User, officer_id)
                made = settlement.settle(
                    session, wallet_service(session, client="settlement"), officer, "race-gas", DAY
                )
                return made.id

        with ThreadPoolExecutor(max_workers=2) as pool:
            ids = list(pool.map(settle, officer_ids))

        with app.app_context(), database.write_transaction() as session:
            payouts = session.scalar(
                select(func.count()).select_from(Transfer).where(Transfer.kind == TransferKind.SETTLEMENT)
            )
            rows = session.scalars(select(Settlement)).all()
            assert ids[0] == ids[1] == rows[0].id
            assert len(rows) == 1 and rows[0].payout_fen == 12_300
            assert payouts == 1
            assert ledger_violations(session) == []
    finally:
        database.dispose()
