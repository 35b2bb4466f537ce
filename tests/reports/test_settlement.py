"""Daily settlement: the day's ledger movements per agency, paid out once."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.errors import PortalError
from portal.reports import settlement
from portal.reports.models import Settlement
from portal.wallet.factory import wallet_service
from portal.wallet.models import AccountKind, LedgerAccount, Transfer, TransferKind
from tests.conftest import csrf_token_from, login
from tests.reports.conftest import local_agency

DAY = date(2026, 3, 5)


@pytest.fixture
def day_of_payments(app, db, payments, finance):
    water = local_agency(app, "water-s", name_en="Water S")
    gas = local_agency(app, "gas-s", name_en="Gas S")
    first = payments.pay(water, 10_000, datetime(2026, 3, 4, 16, 0, tzinfo=UTC))  # 00:00 on the 5th
    payments.pay(water, 2_500, datetime(2026, 3, 5, 15, 59, 59, tzinfo=UTC))  # 23:59:59 on the 5th
    payments.pay(water, 700, datetime(2026, 3, 5, 16, 0, tzinfo=UTC))  # the 6th
    payments.pay(gas, 3_000, datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    payments.refund(first, 1_200, datetime(2026, 3, 5, 8, 0, tzinfo=UTC), finance)
    return water, gas


def _agency_balance(db, code: str) -> int:
    return db.scalar(
        select(LedgerAccount.balance_fen).where(
            LedgerAccount.kind == AccountKind.AGENCY_SETTLEMENT, LedgerAccount.owner_ref == f"agency:{code}"
        )
    )


def _settlement_transfers(db) -> int:
    return db.scalar(
        select(func.count()).select_from(Transfer).where(Transfer.kind == TransferKind.SETTLEMENT)
    )


def test_a_day_is_settled_once_and_pays_out_collected_minus_refunded(app, db, day_of_payments, finance):
    with app.test_request_context():
        wallet = wallet_service(db, client="settlement")
        figures = {f.agency.code: f for f in settlement.day_overview(db, DAY)}
        assert (figures["water-s"].collected_fen, figures["water-s"].refunded_fen) == (12_500, 1_200)
        assert (figures["water-s"].payments_count, figures["water-s"].refunds_count) == (2, 1)
        before = _agency_balance(db, "water-s")

        made = settlement.settle(db, wallet, finance, "water-s", DAY)
        again = settlement.settle(db, wallet, finance, "water-s", DAY)

    assert again.id == made.id
    assert made.payout_fen == 11_300
    assert _agency_balance(db, "water-s") == before - 11_300
    assert _settlement_transfers(db) == 1
    transfer = db.scalar(select(Transfer).where(Transfer.reference == made.transfer_reference))
    assert transfer.amount_fen == 11_300


def test_a_day_not_yet_over_cannot_be_settled(app, db, day_of_payments, finance):
    today = settlement.business_day(settlement.utcnow())
    with app.test_request_context(), pytest.raises(PortalError) as refused:
        settlement.settle(db, wallet_service(db, client="settlement"), finance, "water-s", today)
    assert refused.value.field == "day" and "北京时间" in refused.value.message
    assert _settlement_transfers(db) == 0


def test_settling_through_the_page_and_the_statement(client, db, day_of_payments, finance):
    client.get("/language/en")
    login(client, finance.email)
    page = client.get(f"/reports/settlements?day={DAY.isoformat()}").get_data(as_text=True)
    assert "¥113.00" in page  # water: 125.00 collected - 12.00 refunded
    form = {"agency": "water-s", "day": DAY.isoformat(), "csrf_token": csrf_token_from(page)}

    first = client.post("/reports/settlements", data=form)
    second = client.post("/reports/settlements", data=form)  # a double submit

    assert first.status_code == second.status_code == 302
    assert _settlement_transfers(db) == 1
    made = db.scalar(select(Settlement))
    pdf = client.get(f"/reports/settlements/{made.id}.pdf")
    assert pdf.status_code == 200
    text = "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages).split())
    assert "WaterS" in text and "¥113.00" in text and made.transfer_reference in text


def test_settling_without_a_csrf_token_is_refused(client, db, day_of_payments, finance):
    login(client, finance.email)
    response = client.post("/reports/settlements", data={"agency": "water-s", "day": DAY.isoformat()})
    assert response.status_code == 400
    assert _settlement_transfers(db) == 0
