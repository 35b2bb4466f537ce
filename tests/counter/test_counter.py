"""Counter payments at a service hall: cash and card through the same payment service, one till per
shift in the ledger, the cash-up with and without a difference, and what a cashier may not do."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portal.accounts.models import User
from portal.agencies.base import Ack
from portal.analytics.models import RolledDay
from portal.authz import Role
from portal.bills import services as bill_services
from portal.clock import aware, business_day
from portal.counter import services
from portal.counter.models import CounterPayment, HallCashier, ShiftState, Tender
from portal.outbox import OutboxMessage, OutboxState
from portal.payments import delivery
from portal.payments.models import ItemState, Payment, PaymentChannel, PaymentState
from portal.payments.refunds import refund_item
from portal.receipts.models import Receipt
from portal.receipts.tokens import verification_token
from portal.reports.channels import by_channel
from portal.reports.reconciliation import DiscrepancyKind, reconcile
from portal.wallet.counter import DIFFERENCES_OWNER, REFUNDS_DUE_OWNER, hall_bank_owner, till_owner
from portal.wallet.factory import wallet_service
from portal.wallet.models import AccountKind, LedgerAccount, Transfer, TransferKind
from portal.wallet.verify import ledger_violations
from tests.conftest import csrf_token_from, login, submit
from tests.counter.conftest import balance, open_shift, shift_of, take, take_buttons, take_form
from tests.factories import AdminFactory, BillFactory, FinanceFactory
from tests.payments.test_delivery import run_outbox

W1 = 4_680 + 140  # the water bill W-1 with its late fee


def payments_count(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Payment))


def test_cash_at_the_counter_pays_the_bill_into_the_shifts_till(app, client, db, cashier):
    open_shift(client)
    shift = shift_of(db, cashier)
    buttons = take_buttons(client)
    assert set(buttons) == {"W-1", "W-2"}
    html, _hidden = take_form(client, buttons["W-1"])
    assert "¥48.20" in html and "张小三" not in html  # the payer's name masked at the counter too

    done = take(client, buttons["W-1"], tender="cash", tendered="100")
    assert done.status_code == 302, done.get_data(as_text=True)
    payment = db.scalar(sa.select(Payment))
    assert payment.user_id is None and payment.channel is PaymentChannel.COUNTER
    assert payment.state is PaymentState.PAID and payment.total_fen == W1
    taken = db.get(CounterPayment, payment.id)
    assert (taken.shift_id, taken.tender, taken.tendered_fen, taken.change_fen) == (
        shift.id,
        Tender.CASH,
        10_000,
        10_000 - W1,
    )
    page = client.get(done.location).get_data(as_text=True)
    assert "Change to give" in page and "¥51.80" in page
    assert balance(db, AccountKind.COUNTER_TILL, till_owner(shift.reference)) == -W1
    assert balance(db, AccountKind.AGENCY_SETTLEMENT, "agency:water-pay") == W1
    transfer = db.scalar(sa.select(Transfer).where(Transfer.reference == payment.transfer_reference))
    assert transfer.kind is TransferKind.PAYMENT and transfer.amount_fen == W1
    assert db.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("confirm:%"))) is not None
    assert ledger_violations(db) == []


def test_a_counter_payment_is_confirmed_reconciled_and_its_receipt_printed(app, client, db, cashier):
    open_shift(client)
    done = take(client, take_buttons(client)["W-2"], tender="cash", tendered="20")
    assert done.status_code == 302
    assert run_outbox(app) >= 2  # the agency's confirmation and the receipt's PDF
    db.expire_all()
    payment = db.scalar(sa.select(Payment))
    assert payment.state is PaymentState.CONFIRMED
    assert [item.state for item in payment.items] == [ItemState.CONFIRMED]
    with app.app_context():
        day = business_day(aware(payment.paid_at))
        report = reconcile(db, day, day)
    assert report.is_clean, report.discrepancies
    receipt = db.scalar(sa.select(Receipt).where(Receipt.payment_id == payment.id))
    pdf = client.get(f"/counter/payments/{payment.reference}/receipts/{receipt.number}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    if os.environ.get("SCREENSHOT_DIR"):  # to look at it: pdftoppm -png counter-receipt.pdf
        Path(os.environ["SCREENSHOT_DIR"], "counter-receipt.pdf").write_bytes(pdf.data)
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "窗口" in text and "¥20.00" in text and receipt.number in text
    with app.app_context():
        token = verification_token(receipt.number)
    verified = client.get(f"/receipts/verify/{token}")
    assert verified.status_code == 200 and "¥20.00" in verified.get_data(as_text=True)  # the QR code's page


def test_finance_sees_a_counter_payment_without_a_refund_to_a_wallet(app, client, db, cashier):
    open_shift(client)
    take(client, take_buttons(client)["W-2"], tender="cash", tendered="20")
    payment = db.scalar(sa.select(Payment))
    other = app.test_client()
    other.get("/language/en")
    login(other, FinanceFactory().email)
    page = other.get(f"/operations/payments/{payment.reference}").get_data(as_text=True)
    assert "refunded at the service hall" in page and "Refund to the resident" not in page


def test_a_take_form_sent_without_a_choice_says_so(app, client, db, cashier):
    open_shift(client)
    _html, hidden = take_form(client, take_buttons(client)["W-2"])
    answer = client.post("/counter/take", data={**hidden, "tendered": "20"})
    assert answer.status_code == 400 and "Choose cash or bank card." in answer.get_data(as_text=True)
    assert payments_count(db) == 0


def test_a_bank_card_at_the_pos_is_charged_and_a_declined_one_moves_nothing(app, client, db, cashier):
    open_shift(client)
    token = take_buttons(client)["W-1"]
    declined = take(client, token, tender="card", card_number="6222020000040000002")
    assert declined.status_code == 400, (declined.location, payments_count(db))
    assert "The bank declined this card" in declined.get_data(as_text=True)
    assert payments_count(db) == 0
    assert db.scalar(sa.select(Payment).where(Payment.channel == PaymentChannel.COUNTER)) is None

    paid = take(client, token, tender="card", card_number="6222 0200 0000 0000 018")
    assert paid.status_code == 302
    taken = db.scalar(sa.select(CounterPayment))
    assert taken.tender is Tender.CARD and taken.card_masked == "**** 0018" and taken.change_fen == 0
    shift = shift_of(db, cashier)
    assert balance(db, AccountKind.COUNTER_TILL, till_owner(shift.reference)) in (None, 0)  # no cash
    assert balance(db, AccountKind.AGENCY_SETTLEMENT, "agency:water-pay") == W1


def test_short_cash_a_changed_bill_and_a_form_sent_twice(app, client, db, cashier):
    open_shift(client)
    token = take_buttons(client)["W-1"]
    short = take(client, token, tender="cash", tendered="40")
    assert short.status_code == 400
    assert "is less than the amount due (¥48.20)" in short.get_data(as_text=True)
    slip = take(client, token, tender="cash", tendered="5000")  # ¥50.00 typed as 5000
    assert slip.status_code == 400 and "check the figure typed" in slip.get_data(as_text=True)

    _html, hidden = take_form(client, token)
    changed = client.post(
        "/counter/take", data={**hidden, "amount_seen": "4680", "tender": "cash", "tendered": "50"}
    )
    assert "The bill changed: it is now ¥48.20" in changed.get_data(as_text=True)
    assert payments_count(db) == 0

    form = {**hidden, "tender": "cash", "tendered": "50"}
    first = client.post("/counter/take", data=form)
    second = client.post("/counter/take", data=form)  # a double click
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert payments_count(db) == 1


def test_a_hall_takes_no_bill_of_an_agency_it_does_not_serve(app, client, db, cashier, tax):
    assert client.get("/counter/bills/tax-pay").status_code == 403
    open_shift(client)
    with app.test_request_context():  # a tax bill's button, as the residents' lookup page seals it
        _agency, adapter = bill_services.find_agency(db, "tax-pay")
        query = {"account_reference": "3100200300"}
        token = bill_services.selection_tokens("tax-pay", query, bill_services.lookup(adapter, query))["T-1"]
    page = client.get("/counter/").get_data(as_text=True)
    refused = client.post("/counter/take", data={"bill": token, "csrf_token": csrf_token_from(page)})
    assert refused.status_code == 403 and "does not take bills of this agency" in refused.get_data(
        as_text=True
    )
    with app.test_request_context(), pytest.raises(services.NotThisHall):
        services.collect(
            db,
            wallet_service(db),
            cashier,
            token,
            10_000,
            services.Takings(Tender.CASH, 10_000),
            "k" * 20,
            "en",
        )
    assert payments_count(db) == 0


def test_cash_up_without_a_difference_hands_the_cash_over_and_closes_the_shift(
    app, client, db, cashier, hall
):
    BillFactory(agency=hall.agencies[0], account_reference="3100200300", bill_no="W-3", amount_fen=1_000)
    open_shift(client)
    take(client, take_buttons(client)["W-1"], tender="cash", tendered="50")
    take(client, take_buttons(client)["W-2"], tender="card", card_number="6222020000000000018")
    shift = shift_of(db, cashier)
    close_page = client.get(f"/counter/shifts/{shift.reference}/close").get_data(as_text=True)
    asked = client.post(
        f"/counter/shifts/{shift.reference}/close",
        data={"counted": "48.20", "csrf_token": csrf_token_from(close_page)},
    )
    assert asked.status_code == 200 and "The till holds what its payments took: ¥48.20" in asked.get_data(
        as_text=True
    )
    assert shift_of(db, cashier).state is ShiftState.OPEN  # nothing recorded before the confirmation
    form = {
        "counted": "48.20",
        "confirmed": "yes",
        "csrf_token": csrf_token_from(asked.get_data(as_text=True)),
    }
    closed = client.post(f"/counter/shifts/{shift.reference}/close", data=form)
    again = client.post(f"/counter/shifts/{shift.reference}/close", data=form)  # sent twice
    assert closed.status_code == again.status_code == 302

    shift = shift_of(db, cashier)
    assert shift.state is ShiftState.CLOSED
    assert (shift.expected_cash_fen, shift.counted_cash_fen, shift.difference_fen) == (W1, W1, 0)
    assert shift.difference_transfer is None
    assert balance(db, AccountKind.COUNTER_TILL, till_owner(shift.reference)) == 0
    assert balance(db, AccountKind.HALL_BANK, hall_bank_owner(hall.code)) == -W1
    handovers = db.scalars(sa.select(Transfer).where(Transfer.kind == TransferKind.CASH_HANDOVER)).all()
    assert [t.amount_fen for t in handovers] == [W1]  # recorded once
    assert ledger_violations(db) == []
    late = take(
        client, take_buttons(client)["W-3"], tender="cash", tendered="20"
    )  # a closed shift takes none
    assert late.status_code == 400 and "Your shift is closed" in late.get_data(as_text=True)
    assert payments_count(db) == 2


def test_cash_up_with_a_shortfall_records_the_difference(app, client, db, cashier, hall):
    open_shift(client)
    take(client, take_buttons(client)["W-1"], tender="cash", tendered="48.20")
    shift = shift_of(db, cashier)
    with app.test_request_context():
        wallet = wallet_service(db)
        services.close_shift(db, wallet, cashier, shift.reference, 4_000)
        services.close_shift(db, wallet, cashier, shift.reference, 1)  # a second cash-up changes nothing
    shift = shift_of(db, cashier)
    assert (shift.counted_cash_fen, shift.difference_fen) == (4_000, 4_000 - W1)
    assert balance(db, AccountKind.COUNTER_TILL, till_owner(shift.reference)) == 0
    assert balance(db, AccountKind.HALL_BANK, hall_bank_owner(hall.code)) == -4_000
    assert balance(db, AccountKind.COUNTER_DIFFERENCE, DIFFERENCES_OWNER) == 4_000 - W1  # ¥8.20 short
    page = client.get(f"/counter/shifts/{shift.reference}").get_data(as_text=True)
    assert "¥8.20 short" in page
    finance = app.test_client()
    finance.get("/language/en")
    login(finance, FinanceFactory().email)
    day = business_day(aware(shift.closed_at)).isoformat()
    report = finance.get(f"/reports/reconciliation?date_from={day}&date_to={day}").get_data(as_text=True)
    assert "Cash differences at counter cash-ups" in report and shift.reference in report
    assert "¥8.20 short" in report
    assert ledger_violations(db) == []


def test_a_counter_payment_is_not_refunded_to_a_wallet(app, client, db, cashier):
    open_shift(client)
    take(client, take_buttons(client)["W-2"], tender="cash", tendered="20")
    payment = db.scalar(sa.select(Payment))
    with (
        app.test_request_context(),
        pytest.raises(services.ValidationFailed, match=r"服务大厅|service hall"),
    ):
        refund_item(
            db,
            wallet_service(db),
            FinanceFactory(),
            payment.reference,
            payment.items[0].id,
            100,
            "x",
            "r" * 20,
        )


def test_reports_show_counter_takings_by_channel_and_a_till_left_uncleared(app, client, db, cashier):
    open_shift(client)
    take(client, take_buttons(client)["W-1"], tender="cash", tendered="50")
    shift = shift_of(db, cashier)
    with app.test_request_context():
        services.close_shift(db, wallet_service(db), cashier, shift.reference, W1)
    day = business_day(aware(shift_of(db, cashier).closed_at))
    figures = by_channel(db, day, day)
    assert [(f.channel, f.payments, f.collected_fen) for f in figures] == [(PaymentChannel.COUNTER, 1, W1)]
    with app.app_context():
        assert not [
            d for d in reconcile(db, day, day).discrepancies if d.kind is DiscrepancyKind.TILL_NOT_CLEARED
        ]
    till = db.scalar(sa.select(LedgerAccount).where(LedgerAccount.owner_ref == till_owner(shift.reference)))
    till.balance_fen = -100  # planted: a till that kept ¥1.00 past its cash-up
    db.flush()
    with app.app_context():
        found = [
            d for d in reconcile(db, day, day).discrepancies if d.kind is DiscrepancyKind.TILL_NOT_CLEARED
        ]
    assert len(found) == 1 and shift.reference in found[0].detail and "¥1.00" in found[0].detail


def test_a_counter_payment_the_agency_refuses_is_owed_back_not_sent_to_a_wallet(app, client, db, cashier):
    open_shift(client)
    take(client, take_buttons(client)["W-2"], tender="cash", tendered="20")
    payment = db.scalar(sa.select(Payment))
    till = till_owner(shift_of(db, cashier).reference)
    with app.app_context():
        delivery.apply_ack(db, payment.items[0].id, "water-pay", Ack(payment_id="x", accepted=False))
        delivery.apply_ack(db, payment.items[0].id, "water-pay", Ack(payment_id="x", accepted=False))  # again
    db.commit()
    run_outbox(app)
    db.expire_all()

    item = db.scalar(sa.select(Payment)).items[0]
    assert item.state is ItemState.REJECTED and item.refunded_fen == 2_000
    assert balance(db, AccountKind.COUNTER_REFUND_DUE, REFUNDS_DUE_OWNER) == 2_000  # once, not twice
    assert balance(db, AccountKind.AGENCY_SETTLEMENT, "agency:water-pay") == 0
    assert balance(db, AccountKind.COUNTER_TILL, till) == -2_000  # the till still holds the cash taken
    stuck = db.scalars(sa.select(OutboxMessage).where(OutboxMessage.state != OutboxState.DELIVERED)).all()
    assert [(m.topic, m.last_error) for m in stuck] == []  # no notice for a resident who is not there
    assert ledger_violations(db) == []
    finance = app.test_client()
    finance.get("/language/en")
    login(finance, FinanceFactory().email)
    day = business_day(aware(payment.paid_at)).isoformat()
    page = finance.get(f"/reports/reconciliation?date_from={day}&date_to={day}").get_data(as_text=True)
    assert "owed back to the payer" in page and payment.reference in page and "¥20.00" in page
    assert db.get(RolledDay, business_day(aware(payment.paid_at))).stale  # the analytics roll it up again


def test_the_longest_form_key_fits_the_payments_key_and_a_resend_records_once(app, client, db, cashier):
    open_shift(client)
    _html, hidden = take_form(client, take_buttons(client)["W-2"])
    sent = {**hidden, "key": "k" * 64, "tender": "cash", "tendered": "20"}
    first = client.post("/counter/take", data=sent)
    again = client.post("/counter/take", data=sent)
    assert first.status_code == again.status_code == 302 and first.location == again.location
    payment = db.scalar(sa.select(Payment))
    assert payments_count(db) == 1 and len(payment.idempotency_key) <= 64


def test_a_cashier_with_a_shift_open_keeps_role_and_hall_until_the_cash_up(app, client, db, cashier):
    open_shift(client)
    shift = shift_of(db, cashier)
    admin = app.test_client()
    admin.get("/language/en")
    login(admin, AdminFactory().email)
    refused = submit(admin, f"/admin/staff/{cashier.id}", {"role": "finance", "agency": "", "hall": ""})
    assert refused.status_code == 200
    assert f"has shift {shift.reference} open" in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, cashier.id).role is Role.CASHIER and db.get(HallCashier, cashier.id) is not None
