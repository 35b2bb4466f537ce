import io
import json

from itsdangerous import URLSafeSerializer
from pypdf import PdfReader
from sqlalchemy import select

from config import sandbox_agencies
from portal import outbox
from portal.agencies.http import _breakers
from portal.outbox import OutboxMessage, OutboxState
from portal.payments import delivery
from portal.payments.models import ItemState, Payment, PaymentState
from portal.receipts import rendering
from portal.receipts.models import Receipt
from portal.receipts.tokens import verification_token
from tests.conftest import SANDBOX_SECRET, login, logout
from tests.factories import UserFactory
from tests.payments.conftest import confirm_form, review


def pay(client, bill_ids=None):
    html = review(client, bill_ids).get_data(as_text=True)
    return client.post("/payments/confirm", data=confirm_form(html)).location


def run_outbox(app):
    with app.app_context():
        handlers = {**delivery.HANDLERS, **rendering.HANDLERS}  # agencies and receipts, no notices
        return outbox.run(app.extensions["portal.db"], handlers, once=True)


def test_worker_confirms_each_bill_once_and_renders_the_receipt(app, client, db, water, resident):
    location = pay(client)

    assert run_outbox(app) == 3
    assert run_outbox(app) == 0  # delivered messages are never sent again
    db.expire_all()
    payment = db.scalar(select(Payment))
    assert payment.state is PaymentState.CONFIRMED and payment.confirmed_at is not None
    assert {item.state for item in payment.items} == {ItemState.CONFIRMED}
    assert "Confirmed by the agency" in client.get(location).get_data(as_text=True)


def test_receipt_pdf_holds_the_amount_in_chinese_capitals_and_is_served_from_storage(
    app, client, db, water, resident
):
    location = pay(client, ["W-2"])  # ¥20.00
    number = db.scalar(select(Receipt.number))

    first = client.get(f"{location}/receipts/{number}.pdf")  # before the worker: rendered on demand

    assert first.status_code == 200 and first.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(first.data)).pages)
    compact = "".join(text.split())  # text extraction may split a run of glyphs with spaces
    assert "贰拾元整" in compact and number in compact and "缴费凭证" in compact
    again = client.get(f"{location}/receipts/{number}.pdf")
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    cached = client.get(f"{location}/receipts/{number}.pdf", headers={"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304
    assert run_outbox(app) == 1  # the render message is already delivered; only the confirmation is left
    assert (
        db.scalar(select(OutboxMessage.state).where(OutboxMessage.topic == "receipt.render"))
        is OutboxState.DELIVERED
    )


def test_another_residents_payment_and_receipt_are_not_found(app, client, db, water, resident):
    location = pay(client, ["W-2"])
    number = db.scalar(select(Receipt.number))
    logout(client)
    UserFactory(phone="13900000002")
    login(client, "13900000002")

    assert client.get(location).status_code == 404
    assert client.get(f"{location}/receipts/{number}.pdf").status_code == 404


def test_verification_page_tells_genuine_edited_and_forged_receipts_apart(app, client, db, water, resident):
    pay(client, ["W-2"])
    number = db.scalar(select(Receipt.number))
    logout(client)
    with app.test_request_context():
        genuine = verification_token(number)
    forged = URLSafeSerializer("a key the portal does not hold", salt="portal.receipt").dumps(number)
    edited = genuine.replace(genuine[2], "A" if genuine[2] != "A" else "B", 1)

    ok = client.get(f"/receipts/verify/{genuine}")
    assert ok.status_code == 200 and "This receipt is genuine" in ok.get_data(as_text=True)
    assert "¥20.00" in ok.get_data(as_text=True) and "¥20.00</strong> (" in ok.get_data(as_text=True)
    for token in (edited, forged):
        page = client.get(f"/receipts/verify/{token}")
        assert page.status_code == 404 and "could not be verified" in page.get_data(as_text=True)
    client.get("/language/zh_CN")
    assert "¥20.00</strong>（贰拾元整）" in client.get(f"/receipts/verify/{genuine}").get_data(as_text=True)


def test_agency_down_for_a_while_then_back_gets_the_confirmation_once(
    app, client, db, resident, fresh_sandbox
):
    sandbox = fresh_sandbox
    dead_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    app.config["AGENCY_ADAPTERS"] = sandbox_agencies(sandbox, SANDBOX_SECRET)
    app.config["OUTBOX_BACKOFF_BASE_SECONDS"] = 0
    from tests.factories import AgencyFactory

    AgencyFactory(code="traffic", category="traffic")
    page = client.get("/bills/traffic?plate=渝A12345&notice_no=5001012026000123").get_data(as_text=True)
    location = pay_from(client, page)
    assert location and "/payments/P" in location
    app.config["AGENCY_ADAPTERS"]["traffic"]["settings"]["url"] = dead_url

    for _ in range(3):
        run_outbox(app)
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "agency.confirm"))
    db.refresh(message)
    assert message.state is OutboxState.PENDING and message.attempts >= 3
    app.config["AGENCY_ADAPTERS"]["traffic"]["settings"]["url"] = sandbox
    _breakers.pop("traffic", None)  # the breaker's cool-down has passed

    run_outbox(app)
    db.refresh(message)
    payment = db.scalar(select(Payment))
    db.refresh(payment)
    assert message.state is OutboxState.DELIVERED
    assert payment.state is PaymentState.CONFIRMED
    assert payment.items[0].agency_reference.startswith("SBX-")
    assert json.loads(message.payload_json)["agency"] == "traffic"


def pay_from(client, page):
    html = review(client, page=page).get_data(as_text=True)
    return client.post("/payments/confirm", data=confirm_form(html)).location
