import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from config import sandbox_agencies
from portal import outbox
from portal.agencies.http import _breakers
from portal.outbox import OutboxMessage, OutboxState
from portal.payments.models import PaymentItem
from portal.receipts import pdf as receipt_pdf_module
from portal.receipts.models import Receipt
from tests.conftest import SANDBOX_SECRET
from tests.factories import AgencyFactory
from tests.payments.conftest import confirm_form, review
from tests.payments.test_delivery import pay, run_outbox
from tests.payments.test_races import committed, live_app  # noqa: F401

TAX = "/bills/tax?taxpayer_id=11010519491231002X"  # ¥386.00 of personal income tax


@pytest.fixture
def partial_tax(app, db, fresh_sandbox):
    agencies = sandbox_agencies(fresh_sandbox, SANDBOX_SECRET)
    agencies["tax"]["settings"].update(amount_rule="partial", minimum_fen=10_000)
    app.config["AGENCY_ADAPTERS"] = agencies
    AgencyFactory(code="tax", category="tax")
    _breakers.clear()


def test_a_part_payment_where_the_agency_allows_it_leaves_the_bill_open(client, db, resident, partial_tax):
    html = review(client, page=client.get(TAX).get_data(as_text=True)).get_data(as_text=True)
    assert 'name="amount-0"' in html and 'value="386.00"' in html

    too_little = client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "50"})
    assert too_little.status_code == 409 and "Pay at least ¥100.00" in too_little.get_data(as_text=True)
    too_much = client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "386.01"})
    assert too_much.status_code == 409 and "up to the amount due" in too_much.get_data(as_text=True)
    paid = client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "150.00"})

    assert paid.status_code == 302
    item = db.scalar(select(PaymentItem))
    assert item.amount_fen == 15_000 and item.settles_bill is False


def test_the_same_confirmation_with_another_amount_says_the_first_payment_stands(
    client, db, resident, partial_tax
):
    html = review(client, page=client.get(TAX).get_data(as_text=True)).get_data(as_text=True)
    client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "150.00"})

    again = client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "200.00"})
    page = client.get(again.headers["Location"]).get_data(as_text=True)

    assert "This confirmation was used already: it paid ¥150.00" in page
    assert "nothing more was paid" in page
    assert db.scalar(select(func.count()).select_from(PaymentItem)) == 1
    assert db.scalar(select(PaymentItem.amount_fen)) == 15_000


def test_the_same_confirmation_with_the_same_amount_shows_the_payment_without_a_warning(
    client, db, resident, partial_tax
):
    html = review(client, page=client.get(TAX).get_data(as_text=True)).get_data(as_text=True)
    client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "150.00"})

    again = client.post("/payments/confirm", data={**confirm_form(html), "amount-0": "150.00"})

    assert "used already" not in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_receipt_that_failed_to_render_is_retried_never_lost_never_duplicated(
    app, client, db, water, resident, monkeypatch
):
    app.config["OUTBOX_BACKOFF_BASE_SECONDS"] = 0
    pay(client, ["W-2"])
    real_render = receipt_pdf_module.render_pdf
    failures = []

    def render_fails_once(html):
        if not failures:
            failures.append(html)
            raise OSError("fontconfig cache is being rebuilt")  # a passing fault, injected once
        return real_render(html)

    monkeypatch.setattr(receipt_pdf_module, "render_pdf", render_fails_once)
    run_outbox(app)
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "receipt.render"))
    db.refresh(message)
    assert (
        message.state is OutboxState.PENDING and message.attempts == 1 and "fontconfig" in message.last_error
    )

    run_outbox(app)
    db.refresh(message)
    assert message.state is OutboxState.DELIVERED
    assert db.scalar(select(func.count()).select_from(Receipt)) == 1
    receipt = db.scalar(select(Receipt))
    db.refresh(receipt)
    assert receipt.pdf_sha256 is not None and receipt.rendered_at is not None


def test_several_workers_share_the_queue_and_each_message_is_handled_once(live_app):  # noqa: F811
    def fill(session):
        with live_app.test_request_context():
            for n in range(60):
                outbox.enqueue(session, "test.count", f"count:{threading.get_ident()}:{n}", {"n": n})

    committed(live_app, fill)
    handled = Counter()
    lock = threading.Lock()

    def count(database, payload):
        with lock:
            handled[payload["n"]] += 1
        return lambda session: None

    def worker():
        with live_app.app_context():
            outbox.run(live_app.extensions["portal.db"], {"test.count": count}, once=True, batch=5)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(handled) == list(range(60)) and set(handled.values()) == {1}
    pending = committed(
        live_app,
        lambda s: s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING)
        ),
    )
    assert pending == 0
