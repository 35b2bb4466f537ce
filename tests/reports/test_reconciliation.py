"""Three-way reconciliation lists exactly the planted discrepancies, and nothing when all is well."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from portal.payments.models import ItemState, Payment, PaymentItem
from portal.receipts.models import Receipt
from portal.reports.reconciliation import DiscrepancyKind, reconcile
from portal.wallet.types import PaymentLeg
from tests.conftest import login
from tests.reports.conftest import local_agency, wallet_at

PAID = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
DAY = date(2026, 3, 5)
SOON_AFTER = PAID + timedelta(minutes=10)  # within the confirmation grace
LATER = PAID + timedelta(hours=3)


@pytest.fixture
def three_payments(app, db, payments):
    water = local_agency(app, "water-c", name_en="Water C")
    made = [payments.pay(water, amount, PAID) for amount in (1_000, 2_000, 3_000)]
    for payment in made[1:]:
        db.execute(
            update(PaymentItem).where(PaymentItem.payment_id == payment.id).values(state=ItemState.CONFIRMED)
        )
    return made


def _found(db, now=LATER) -> list[tuple[DiscrepancyKind, str | None]]:
    return [(d.kind, d.payment) for d in reconcile(db, DAY, DAY, now).discrepancies]


def test_all_is_well_means_an_empty_report(db, three_payments):
    assert _found(db, SOON_AFTER) == []


def test_a_planted_missing_confirmation_is_exactly_what_is_reported(db, three_payments):
    unconfirmed = three_payments[0]  # still awaiting the agency three hours later
    assert _found(db) == [(DiscrepancyKind.MISSING_CONFIRMATION, unconfirmed.reference)]


def test_a_planted_amount_mismatch_is_exactly_what_is_reported(db, three_payments):
    target = three_payments[1]
    db.execute(update(PaymentItem).where(PaymentItem.payment_id == target.id).values(agency_amount_fen=1_900))

    assert _found(db, SOON_AFTER) == [(DiscrepancyKind.AMOUNT_MISMATCH, target.reference)]
    detail = reconcile(db, DAY, DAY, SOON_AFTER).discrepancies[0].detail
    assert "¥19.00" in detail and "¥20.00" in detail


def test_a_receipt_that_disagrees_with_its_payment_is_reported(db, three_payments):
    target = three_payments[2]
    db.execute(update(Receipt).where(Receipt.payment_id == target.id).values(amount_fen=2_999))
    assert _found(db, SOON_AFTER) == [(DiscrepancyKind.AMOUNT_MISMATCH, target.reference)]


def test_a_transfer_no_payment_names_is_an_orphan(app, db, three_payments, payer):
    with app.app_context():
        orphan = wallet_at(app, db, PAID).pay(
            f"user:{payer.id}", [PaymentLeg("agency:water-c", 500)], idempotency_key="orphan-transfer"
        )
    found = reconcile(db, DAY, DAY, SOON_AFTER).discrepancies
    assert [(d.kind, d.transfer) for d in found] == [(DiscrepancyKind.ORPHAN_TRANSFER, orphan.reference)]


def test_two_payments_naming_one_transfer_are_a_duplicate(db, three_payments):
    first, second = three_payments[1], three_payments[2]
    db.execute(
        update(Payment).where(Payment.id == first.id).values(transfer_reference=second.transfer_reference)
    )

    kinds = sorted(d.kind for d in reconcile(db, DAY, DAY, SOON_AFTER).discrepancies)
    # The duplicate, the payment whose transfer now moves a different amount, and its own transfer
    # that no payment names any more.
    assert kinds == sorted(
        [DiscrepancyKind.DUPLICATE, DiscrepancyKind.AMOUNT_MISMATCH, DiscrepancyKind.ORPHAN_TRANSFER]
    )


def test_the_page_links_each_discrepancy(client, db, three_payments, finance):
    client.get("/language/en")
    login(client, finance.email)
    page = client.get("/reports/reconciliation?date_from=2026-03-05&date_to=2026-03-05").get_data(
        as_text=True
    )
    assert "Missing agency confirmation" in page
    assert f'href="/operations/payments/{three_payments[0].reference}"' in page
    assert f'href="/reports/transfers/{three_payments[0].transfer_reference}"' in page
