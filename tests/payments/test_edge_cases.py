"""Cases a review of the payment code found: each once gave too much money back, a 500 or a dead worker."""

from sqlalchemy import select

from portal import outbox
from portal.agencies.base import Ack
from portal.outbox import OutboxMessage, OutboxState
from portal.payments import delivery
from portal.payments.models import ItemState, Payment, PaymentState
from portal.wallet.verify import ledger_violations
from tests.conftest import csrf_token_from
from tests.payments.conftest import confirm_form, review
from tests.payments.test_delivery import run_outbox
from tests.payments.test_partial_and_workers import TAX, partial_tax  # noqa: F401
from tests.payments.test_refunds import paid, refund, wallet_balance  # noqa: F401


def reject(app, db, payment, bill_no):
    item = next(i for i in payment.items if i.bill_id == bill_no)
    with app.app_context():
        delivery.apply_ack(db, item.id, "water-pay", Ack(payment_id="x", accepted=False))
    db.flush()


def test_a_refusal_after_a_part_refund_returns_only_what_is_left(app, client, db, paid, resident):  # noqa: F811
    before = wallet_balance(app, db, resident)
    refund(client, paid, "W-1", "10.00")

    reject(app, db, paid, "W-1")

    assert wallet_balance(app, db, resident) == before + 4_820  # ¥48.20 in all, not ¥58.20
    item = next(i for i in paid.items if i.bill_id == "W-1")
    assert item.state is ItemState.REJECTED and item.refunded_fen == item.amount_fen
    assert ledger_violations(db) == []


def test_refunded_by_finance_and_refused_by_the_agency_ends_refunded(app, client, db, paid, resident):  # noqa: F811
    refund(client, paid, "W-2", "20.00")

    reject(app, db, paid, "W-1")

    db.refresh(paid)
    assert paid.refunded_fen == paid.total_fen and paid.state is PaymentState.REFUNDED


def test_a_refund_url_naming_another_payment_is_not_found(app, client, db, paid):  # noqa: F811
    item = paid.items[0]
    page = client.get(f"/operations/payments/{paid.reference}").get_data(as_text=True)
    data = {
        f"item{item.id}-amount": "1.00",
        f"item{item.id}-reason": "test",
        f"item{item.id}-idempotency_key": "k" * 24,
        f"item{item.id}-csrf_token": csrf_token_from(page),
    }

    response = client.post(f"/operations/payments/PNOSUCHREF000000/items/{item.id}/refund", data=data)

    assert response.status_code == 404
    db.refresh(item)
    assert item.refunded_fen == 0


def test_a_refund_notice_waits_until_the_agency_has_the_confirmation(app, client, db, paid):  # noqa: F811
    refund(client, paid, "W-2", "5.00")
    item = next(i for i in paid.items if i.bill_id == "W-2")
    notice = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "agency.refund"))
    confirmation = db.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"confirm:{item.id}"))

    with app.app_context():
        assert outbox.deliver(app.extensions["portal.db"], notice.id, delivery.HANDLERS) is False
        db.refresh(notice)
        assert notice.state is OutboxState.PENDING and "ConfirmationFirst" in notice.last_error
        assert outbox.deliver(app.extensions["portal.db"], confirmation.id, delivery.HANDLERS) is True
        assert outbox.deliver(app.extensions["portal.db"], notice.id, delivery.HANDLERS) is True


def test_a_failure_while_recording_an_answer_is_retried_not_fatal(
    app, client, db, water, resident, monkeypatch
):
    html = review(client, ["W-2"]).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))

    def broken_ack(session, item_id, agency_code, ack):
        raise RuntimeError("the ledger refused the refund")  # injected: what a wallet refusal looks like

    monkeypatch.setattr(delivery, "apply_ack", broken_ack)
    run_outbox(app)  # returns instead of raising

    message = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "agency.confirm"))
    db.refresh(message)
    assert message.state is OutboxState.PENDING and message.attempts == 1
    assert "ledger refused" in message.last_error


def test_a_malformed_or_deeply_nested_bill_token_gets_a_message(client, db, water, resident):
    page = client.get("/bills/water-pay?account_reference=3100200300").get_data(as_text=True)
    for token in ["[" * 100_000, "{not json", '{"a": 1}']:
        response = client.post(
            "/payments/review", data={"bill": [token], "csrf_token": csrf_token_from(page)}
        )
        assert response.status_code == 302
        assert "Choose at least one bill to pay" in client.get(response.location).get_data(as_text=True)


def test_a_second_part_payment_waits_for_the_first_to_be_confirmed(client, db, resident, partial_tax):  # noqa: F811
    html = review(client, page=client.get(TAX).get_data(as_text=True)).get_data(as_text=True)
    assert client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "100"}).status_code == 302
    again = review(client, page=client.get(TAX).get_data(as_text=True)).get_data(as_text=True)

    second = client.post("/payments/confirm", data={**confirm_form(again), "amount-0": "286"})

    assert second.status_code == 409 and "still being confirmed" in second.get_data(as_text=True)
    assert len(db.scalars(select(Payment)).all()) == 1


def test_a_refusal_by_the_agency_is_told_to_the_resident(app, client, db, paid, resident):  # noqa: F811
    from portal.notify.models import Notification

    reject(app, db, paid, "W-2")

    item = next(i for i in paid.items if i.bill_id == "W-2")
    notice = db.scalar(select(Notification).where(Notification.dedupe_key == f"rejected:{item.id}"))
    assert notice.user_id == resident.id and notice.kind == "refunded"
    assert '"amount_fen": 2000' in notice.params_json
