"""A dispute on a bill the resident has not paid through the portal: one of their saved accounts'
bills, whose amount looks wrong or which they paid elsewhere. No refund can come of it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.bills import services as bill_services
from portal.disputes.models import Dispute, DisputeOutcome, DisputeState
from portal.payments.models import Payment
from tests.conftest import csrf_token_from, login
from tests.disputes.test_disputes import post, staff_client
from tests.factories import FinanceFactory, UserFactory
from tests.payments.conftest import resident, water  # noqa: F401

_BILL_OPTION = re.compile(r'<option value="([^"]+)">(W-\d) ·')


@pytest.fixture
def saved(app, client, db, water, resident):  # noqa: F811
    with app.test_request_context():
        bill_services.save_account(db, resident, water, {"account_reference": "3100200300"}, "Home water")
    db.flush()
    return water


def dispute_button(client, bill: str = "W-2") -> tuple[str, str]:
    """The saved accounts page's dispute button for a bill: (its value, the page's CSRF token)."""
    page = client.get("/bills/mine").get_data(as_text=True)
    return dict((b, t) for t, b in _BILL_OPTION.findall(page))[bill], csrf_token_from(page)


def raise_on(client, token: str, csrf: str, **fields):
    form = client.post("/disputes/bill", data={"bill": token, "csrf_token": csrf})
    assert form.status_code == 200, form.get_data(as_text=True)
    html = form.get_data(as_text=True)
    data = {
        "bill": token,
        "csrf_token": csrf_token_from(html),
        "kind": "wrong_amount",
        "description": "Bill W-2 charges for 20 tonnes; the meter read 12.",
        **fields,
    }
    return client.post("/disputes/bill", data=data, content_type="multipart/form-data")


def test_a_saved_accounts_bill_is_disputed_and_resolved_without_a_refund(app, client, db, saved, resident):  # noqa: F811
    token, csrf = dispute_button(client)
    opened = raise_on(client, token, csrf)
    assert opened.status_code == 302, opened.get_data(as_text=True)
    dispute = db.scalar(sa.select(Dispute))
    assert (dispute.payment_id, dispute.bill_id, dispute.bill_amount_fen) == (None, "W-2", 2_000)
    assert dispute.account_reference == "3100200300" and dispute.state is DisputeState.OPEN
    page = client.get(opened.location).get_data(as_text=True)
    assert dispute.reference in page and "Wrong amount" in page

    finance, _staff = staff_client(app, FinanceFactory)
    case = finance.get(f"/staff/disputes/{dispute.reference}").get_data(as_text=True)
    assert "Not paid through the portal" in case and "W-2" in case
    refused = post(
        finance, f"/staff/disputes/{dispute.reference}/resolve", outcome="refunded", amount="20", reason="x"
    )
    assert refused.status_code == 400 and "Nothing was paid through the portal" in refused.get_data(
        as_text=True
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0
    corrected = post(
        finance,
        f"/staff/disputes/{dispute.reference}/resolve",
        outcome="corrected",
        reason="The water company re-read the meter.",
    )
    assert corrected.status_code == 302
    db.expire_all()
    assert db.get(Dispute, dispute.id).outcome is DisputeOutcome.CORRECTED


def test_one_open_dispute_per_bill_and_only_kinds_a_bill_not_paid_here_can_have(client, db, saved):
    token, csrf = dispute_button(client)
    twice_charged = raise_on(client, token, csrf, kind="charged_twice")
    assert twice_charged.status_code == 400 and "Not a valid choice" in twice_charged.get_data(as_text=True)
    assert raise_on(client, token, csrf).status_code == 302
    again = raise_on(client, token, csrf)
    assert again.status_code == 400 and "already have a dispute on this bill" in again.get_data(as_text=True)
    no_choice = raise_on(client, token, csrf, kind="")
    assert no_choice.status_code == 400 and "Choose what is wrong." in no_choice.get_data(as_text=True)


def test_a_bill_that_is_not_of_the_residents_saved_accounts_is_not_there(app, client, db, saved):
    token, csrf = dispute_button(client)
    other = app.test_client()
    other.get("/language/en")
    login(other, UserFactory(phone="13900000999").phone)
    page = other.get("/bills/mine").get_data(as_text=True)
    assert (
        other.post("/disputes/bill", data={"bill": token, "csrf_token": csrf_token_from(page)}).status_code
        == 404
    )
    assert client.post("/disputes/bill", data={"bill": "not-a-token", "csrf_token": csrf}).status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 0
