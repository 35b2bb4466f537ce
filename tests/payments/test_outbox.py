from datetime import timedelta

import httpx
import pytest
from flask import Flask, Response, request
from sqlalchemy import func, select, update

from config import sandbox_agencies
from portal import outbox
from portal.agencies.http import _breakers
from portal.agencies.sandbox import create_sandbox_app
from portal.db import utcnow
from portal.outbox import OutboxMessage, OutboxState
from portal.payments.models import ItemState, Payment, PaymentItem, PaymentState
from portal.payments.states import InvalidTransition, advance_item, move_payment
from portal.wallet.models import Entry, Transfer
from tests.conftest import SANDBOX_SECRET, SANDBOX_TODAY, csrf_token_from, login, logout, serve, stop
from tests.factories import AdminFactory, AgencyFactory
from tests.payments.conftest import confirm_form, review
from tests.payments.test_delivery import pay, run_outbox

FINE = "/bills/traffic?plate=渝A12345&notice_no=5001012026000123"


@pytest.fixture
def lossy_agency(app, db):
    """The sandbox behind a proxy that loses the agency's reply to the first confirmation."""
    sandbox_app = create_sandbox_app(SANDBOX_SECRET, today=lambda: SANDBOX_TODAY)
    sandbox, sandbox_url = serve(sandbox_app)
    proxy_app = Flask("lossy")
    lost = []

    @proxy_app.post("/v1/<path:path>")
    def forward(path):
        upstream = httpx.post(
            f"{sandbox_url}/v1/{path}", content=request.get_data(), headers=dict(request.headers)
        )
        if path == "confirmations" and not lost:
            lost.append(path)
            return Response("gateway timeout", status=504)  # the agency did it; the portal never hears
        return Response(upstream.content, status=upstream.status_code, headers=dict(upstream.headers))

    proxy, proxy_url = serve(proxy_app)
    app.config["AGENCY_ADAPTERS"] = sandbox_agencies(proxy_url, SANDBOX_SECRET)
    app.config["OUTBOX_BACKOFF_BASE_SECONDS"] = 0
    AgencyFactory(code="traffic", category="traffic")
    _breakers.clear()
    yield sandbox_app
    stop(proxy)
    stop(sandbox)
    _breakers.clear()


def test_agency_accepts_but_the_reply_is_lost_is_resent_and_counted_once(
    app, client, db, resident, lossy_agency
):
    html = review(client, page=client.get(FINE).get_data(as_text=True)).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))

    run_outbox(app)  # the reply is lost: the message stays pending
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "agency.confirm"))
    db.refresh(message)
    assert message.state is OutboxState.PENDING and message.attempts == 1
    run_outbox(app)

    db.refresh(message)
    payment = db.scalar(select(Payment))
    db.refresh(payment)
    assert message.state is OutboxState.DELIVERED and payment.state is PaymentState.CONFIRMED
    assert len(lossy_agency.config["SANDBOX_CONFIRMATIONS"]) == 1  # the agency counted it once


def test_undelivered_after_the_window_turns_dead_and_an_operator_resends_it(app, client, db, water, resident):
    pay(client, ["W-2"])
    app.config["AGENCY_ADAPTERS"].pop("water-pay")  # the agency is switched off: confirmations fail
    db.execute(update(OutboxMessage).values(give_up_at=utcnow() + timedelta(seconds=1)))
    app.config["OUTBOX_BACKOFF_BASE_SECONDS"] = 60

    run_outbox(app)

    dead = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "agency.confirm"))
    db.refresh(dead)
    assert dead.state is OutboxState.DEAD and "AgencyNotAvailable" in dead.last_error
    logout(client)
    AdminFactory(email="ops@example.gov.cn")
    login(client, "ops@example.gov.cn")
    page = client.get("/operations/outbox").get_data(as_text=True)
    assert dead.dedupe_key in page
    app.config["AGENCY_ADAPTERS"]["water-pay"] = {"adapter": "local"}
    resent = client.post(f"/operations/outbox/{dead.id}/resend", data={"csrf_token": csrf_token_from(page)})
    assert resent.status_code == 302

    run_outbox(app)
    db.refresh(dead)
    assert dead.state is OutboxState.DELIVERED
    assert db.scalar(select(PaymentItem.state)) is ItemState.CONFIRMED


def test_a_payment_of_bills_from_two_agencies_is_one_transfer_with_an_entry_per_agency(
    app, client, db, water, resident, fresh_sandbox
):
    app.config["AGENCY_ADAPTERS"].update(sandbox_agencies(fresh_sandbox, SANDBOX_SECRET))
    AgencyFactory(code="traffic", category="traffic")
    _breakers.clear()
    water_box = client.get("/bills/water-pay?account_reference=3100200300").get_data(as_text=True)
    fine_box = client.get(FINE).get_data(as_text=True)
    html = review(client, page=water_box + fine_box).get_data(as_text=True)

    assert client.post("/payments/confirm", data=confirm_form(html)).status_code == 302

    payment = db.scalar(select(Payment))
    assert len(payment.items) == 3
    transfer = db.scalar(select(Transfer).where(Transfer.reference == payment.transfer_reference))
    assert db.scalar(select(func.count()).select_from(Entry).where(Entry.transfer_id == transfer.id)) == 3
    assert db.scalar(select(func.sum(Entry.amount_fen)).where(Entry.transfer_id == transfer.id)) == 0


def test_states_only_move_forward(db):
    payment = Payment(reference="PTEST", state=PaymentState.PENDING, total_fen=1)
    move_payment(payment, PaymentState.PAID)
    move_payment(payment, PaymentState.CONFIRMED)
    with pytest.raises(InvalidTransition):
        move_payment(payment, PaymentState.FAILED)  # a late failure never overwrites a confirmation
    item = PaymentItem(state=ItemState.CONFIRMED)
    assert advance_item(item, ItemState.REJECTED) is False and item.state is ItemState.CONFIRMED
    assert advance_item(item, ItemState.AWAITING) is False
    assert advance_item(item, ItemState.REFUNDED) is True


def test_backoff_doubles_up_to_six_hours():
    assert timedelta(seconds=27) <= outbox.backoff(1, 30) <= timedelta(seconds=33)
    assert timedelta(seconds=108) <= outbox.backoff(3, 30) <= timedelta(seconds=132)
    assert outbox.backoff(40, 30) <= timedelta(hours=6, minutes=36)
