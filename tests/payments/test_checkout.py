import re
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.bills.models import Bill, StoredBillStatus
from portal.outbox import OutboxMessage
from portal.payments.models import Payment, PaymentState
from portal.receipts.models import Receipt
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import csrf_token_from
from tests.factories import BillFactory
from tests.payments.conftest import confirm_form, lookup_page, review


@pytest.fixture
def balance(app, db):
    def read(user) -> int:
        db.expire_all()
        with app.app_context():
            return wallet_service(db).balance(wallet_owner(user)).posted_fen

    return read


def test_review_shows_fresh_amounts_and_confirm_pays_once_in_one_transaction(
    client, db, water, resident, balance
):
    page = review(client)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "W-1" in html and "W-2" in html and "¥68.20" in html  # 46.80 + 1.40 late fee + 20.00

    done = client.post("/payments/confirm", data=confirm_form(html))

    assert done.status_code == 302 and "/payments/P" in done.location
    payment = db.scalar(select(Payment))
    assert payment.state is PaymentState.PAID and payment.total_fen == 6_820
    assert balance(resident) == 50_000 - 6_820
    assert {b.status for b in db.scalars(select(Bill).where(Bill.agency_id == water.id))} == {
        StoredBillStatus.PAID
    }
    assert db.scalar(select(func.count()).select_from(Receipt)) == 1
    topics = sorted(db.scalars(select(OutboxMessage.topic)))
    assert topics == ["agency.confirm", "agency.confirm", "notify.deliver", "receipt.render"]
    detail = client.get(done.location).get_data(as_text=True)
    assert payment.reference in detail and "¥68.20" in detail


def test_double_submit_with_one_key_pays_once_and_shows_the_same_payment(
    client, db, water, resident, balance
):
    form = confirm_form(review(client).get_data(as_text=True))

    first = client.post("/payments/confirm", data=form)
    again = client.post("/payments/confirm", data=form)

    assert first.location == again.location
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
    assert balance(resident) == 50_000 - 6_820


def test_a_bill_paid_elsewhere_since_review_is_not_charged_again(client, db, water, resident, balance):
    html = review(client, ["W-1"]).get_data(as_text=True)
    db.execute(Bill.__table__.update().where(Bill.bill_no == "W-1").values(status="paid"))

    response = client.post("/payments/confirm", data=confirm_form(html))

    assert response.status_code == 409
    assert "changed since you reviewed it" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    assert balance(resident) == 50_000


def test_amount_changed_between_review_and_confirm_is_shown_again(client, db, water, resident, balance):
    html = review(client, ["W-2"]).get_data(as_text=True)
    db.execute(Bill.__table__.update().where(Bill.bill_no == "W-2").values(amount_fen=2_500))

    response = client.post("/payments/confirm", data=confirm_form(html))
    page = response.get_data(as_text=True)

    assert response.status_code == 409 and "¥25.00" in page
    assert balance(resident) == 50_000
    paid = client.post("/payments/confirm", data=confirm_form(page))
    assert paid.status_code == 302 and balance(resident) == 50_000 - 2_500


def test_insufficient_balance_is_refused_with_a_clear_message_and_moves_nothing(
    app, client, db, water, resident
):
    db.execute(Bill.__table__.update().where(Bill.bill_no == "W-2").values(amount_fen=60_000))
    html = review(client, ["W-2"]).get_data(as_text=True)

    assert "less than the total due" in html  # said before the resident tries
    response = client.post("/payments/confirm", data=confirm_form(html))

    assert response.status_code == 409
    assert "is not enough for" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.scalar(select(Bill.status).where(Bill.bill_no == "W-2")) is StoredBillStatus.UNPAID


def test_an_empty_review_goes_back_only_to_a_page_of_ours(client, resident):
    page = client.get("/bills/water-pay?account_reference=3100200300").get_data(as_text=True)
    token = csrf_token_from(page)

    foreign = client.post(
        "/payments/review", data={"csrf_token": token}, headers={"Referer": "https://evil.example/phish"}
    )
    ours = client.post(
        "/payments/review",
        data={"csrf_token": token},
        headers={"Referer": "http://localhost/bills/water?x=1"},
    )

    assert foreign.status_code == ours.status_code == 302
    assert foreign.location == "/bills/"
    assert ours.location == "/bills/water?x=1"


def test_the_language_switch_on_the_review_page_returns_to_the_page_the_bills_were_ticked_on(
    client, water, resident
):
    lookup = "http://localhost/bills/water-pay?account_reference=3100200300"
    page = review(client, referer=lookup).get_data(as_text=True)
    switch = re.search(r'href="(/language/zh_CN\?next=[^"]+)"', page).group(1)

    back = client.get(unescape(switch))

    assert back.status_code == 302 and back.location == "/bills/water-pay?account_reference=3100200300"
    cancel = re.search(r'<a href="([^"]+)">Cancel and go back to the bills</a>', page).group(1)
    assert unescape(cancel) == "/bills/water-pay?account_reference=3100200300"  # where they were ticked
    assert client.get(back.location).status_code == 200  # a page that can be fetched, now in Chinese


def test_a_total_over_the_wallet_limit_is_explained_before_confirming(client, db, water, resident):
    BillFactory(agency=water, account_reference="3100200301", bill_no="BIG-1", amount_fen=250_000)
    db.flush()

    page = review(client, page=lookup_page(client, "/bills/water-pay?account_reference=3100200301"))

    html = page.get_data(as_text=True)
    assert "exceeds your wallet&#39;s limit of ¥2,000.00 per payment" in html  # before any top-up advice
    assert 'href="/account/identity"' in html and "Top up your wallet first" not in html
    assert "Confirm and pay from my wallet" not in html  # a fixed amount: paying cannot go through
    assert "Pay fewer bills" not in html and "Pay less of this bill" not in html  # one bill, fixed amount


def test_a_total_within_the_limits_but_over_the_balance_says_to_top_up(client, db, water, resident):
    BillFactory(agency=water, account_reference="3100200301", bill_no="MID-1", amount_fen=150_000)
    db.flush()

    html = review(client, page=lookup_page(client, "/bills/water-pay?account_reference=3100200301")).get_data(
        as_text=True
    )

    assert "Top up your wallet first" in html and "per payment" not in html
    assert "Confirm and pay from my wallet" in html


def test_a_review_shown_again_after_confirm_sends_back_to_a_page_that_can_be_fetched(client, water, resident):
    # The review shown again by /payments/confirm came from /payments/review, which is POST-only.
    page = review(client, referer="http://localhost/payments/review").get_data(as_text=True)

    assert '<a href="/bills/">Cancel and go back to the bills</a>' in page
    assert 'href="/language/zh_CN?next=/"' in page
