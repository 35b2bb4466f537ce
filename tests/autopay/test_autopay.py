"""Auto-pay: reminded first, paid on the due date minus K days within the monthly cap and the wallet's
limits, like a manual payment (receipt, key); a refusal is told once and never retried."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.autopay.models import AutopaySetting
from portal.autopay.services import payment_key
from portal.db import utcnow
from portal.notify.models import Notification
from portal.payments.models import Payment, PaymentChannel
from portal.receipts.models import Receipt
from tests.conftest import login, submit
from tests.factories import UserFactory
from tests.notify.conftest import bill, note_water, saved_account, work  # noqa: F401
from tests.payments.conftest import fund
from tests.payments.test_refunds import wallet_balance


@pytest.fixture(autouse=True)
def no_notice_period(app):
    """These tests scan again at once: the hour a reminder gives the resident is tested on its own."""
    app.config["AUTOPAY_NOTICE_MINUTES"] = 0


@pytest.fixture
def payer(app, client, db):
    user = UserFactory(phone="13900000701")
    fund(app, db, user, 10_000)
    client.get("/language/en")
    login(client, "13900000701")
    return user


def switch_on(client, account, cap="100"):
    path = f"/bills/mine/{account.id}/autopay"
    return submit(client, path, {"enabled": "y", "monthly_cap": cap})


def payments(db):
    db.expire_all()
    return list(db.scalars(sa.select(Payment).order_by(Payment.id)))


def failures(db):
    db.expire_all()
    return list(db.scalars(sa.select(Notification).where(Notification.kind == "autopay_failed")))


def test_turning_auto_pay_on_from_saved_accounts(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)

    assert "Auto-pay is off." in client.get("/bills/mine").get_data(as_text=True)
    assert switch_on(client, account, "").status_code == 200  # a cap is required
    assert switch_on(client, account, "250.50").status_code == 302

    setting = db.scalar(sa.select(AutopaySetting))
    assert setting.enabled and setting.monthly_cap_fen == 25_050
    assert "Auto-pay is on, up to ¥250.50 a month." in client.get("/bills/mine").get_data(as_text=True)


def test_another_residents_account_is_not_found(app, client, db, payer, note_water):  # noqa: F811
    stranger = UserFactory(phone="13900000702")
    theirs = saved_account(app, db, stranger, note_water)

    assert client.get(f"/bills/mine/{theirs.id}/autopay").status_code == 404
    assert switch_on(client, theirs, "100").status_code == 404


def test_reminded_first_then_paid_once_like_a_manual_payment(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-1", 1, amount_fen=3_000)  # due tomorrow: auto-pay day (K=1) is today
    switch_on(client, account)

    work(app)
    assert payments(db) == []  # the first scan only reminds
    work(app)
    work(app)

    [payment] = payments(db)
    assert payment.channel is PaymentChannel.AUTOPAY and payment.total_fen == 3_000
    assert payment.idempotency_key == payment_key(account.id, "note-water", "A-1")
    assert (
        db.scalar(sa.select(sa.func.count()).select_from(Receipt).where(Receipt.payment_id == payment.id))
        == 1
    )
    assert wallet_balance(app, db, payer) == 7_000
    kinds = [n.kind for n in db.scalars(sa.select(Notification).order_by(Notification.id))]
    assert kinds == ["due", "paid"]


def test_not_yet_paid_before_the_due_date_minus_k(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-2", 3)
    switch_on(client, account)

    work(app)
    work(app)

    assert payments(db) == [] and failures(db) == []


def test_the_cap_is_kept_and_a_refusal_is_told_once_never_retried(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-3", 1, amount_fen=3_000)
    bill(note_water, "A-4", 1, amount_fen=2_500)
    switch_on(client, account, "50")  # ¥50: room for one of the two bills

    for _ in range(4):
        work(app)

    [payment] = payments(db)
    assert payment.items[0].bill_id == "A-3"
    [failure] = failures(db)
    assert (
        failure.dedupe_key == f"autopay-failed:{account.id}:A-4" and '"reason": "cap"' in failure.params_json
    )
    switch_on(client, account, "500")  # a higher cap does not make the refused bill be tried again
    work(app)
    assert len(payments(db)) == 1 and len(failures(db)) == 1


def test_not_enough_balance_is_told_once_and_nothing_moves(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-5", 1, amount_fen=12_000)  # more than the ¥100 in the wallet
    switch_on(client, account, "500")

    for _ in range(3):
        work(app)

    assert payments(db) == [] and wallet_balance(app, db, payer) == 10_000
    [failure] = failures(db)
    assert '"reason": "balance"' in failure.params_json and failure.sent_at is not None


def test_a_month_of_earlier_auto_payments_counts_against_the_cap(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-6", 1, amount_fen=3_000)
    switch_on(client, account, "40")
    work(app)
    work(app)
    assert len(payments(db)) == 1
    # A bill due on the same day arrives later (on the same Beijing day, so in the same month whatever
    # the date the test runs): ¥30 + ¥20 > ¥40 this month.
    bill(note_water, "A-7", 1, amount_fen=2_000)

    work(app)  # the reminder, sent
    work(app)

    assert len(payments(db)) == 1 and [f.dedupe_key.rsplit(":", 1)[1] for f in failures(db)] == ["A-7"]


def test_bills_due_before_auto_pay_was_switched_on_are_left_alone(app, client, db, payer, note_water):  # noqa: F811
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-8", 0)
    switch_on(client, account)
    db.execute(sa.update(AutopaySetting).values(since=utcnow().date() + timedelta(days=5)))

    work(app)
    work(app)

    assert payments(db) == []


def test_a_reminded_bill_waits_the_notice_period_before_it_is_paid(app, client, db, payer, note_water):  # noqa: F811
    app.config["AUTOPAY_NOTICE_MINUTES"] = 60
    account = saved_account(app, db, payer, note_water)
    bill(note_water, "A-9", 1, amount_fen=3_000)
    switch_on(client, account)
    now = utcnow()

    work(app, now)  # the reminder
    work(app, now + timedelta(minutes=59))
    assert payments(db) == []

    work(app, now + timedelta(minutes=61))
    assert [p.total_fen for p in payments(db)] == [3_000]
