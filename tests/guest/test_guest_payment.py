"""Paying a bill without signing in: a visitor names the payer's wallet, its owner's one-time code
authorises the payment, and the same payment service, limits and receipts apply."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from portal.guest import services
from portal.guest.models import AttemptState, GuestAttempt
from portal.notify.models import Notification
from portal.notify.services import params_of
from portal.payments.models import Payment, PaymentChannel
from portal.wallet.owners import user_id_of_wallet_number, wallet_number
from tests.conftest import csrf_token_from
from tests.factories import UserFactory
from tests.payments.conftest import fund, lookup_page, water  # noqa: F401

_GUEST_BILL = re.compile(r'name="bill" value="([^"]+)">\s*<button[^>]*>Pay bill (W-\d)')


@pytest.fixture
def payer(app, db):
    user = UserFactory(phone="13900000321", real_name="王小明", locale="en")
    fund(app, db, user, 50_000)
    return user


def start(client, wallet: str, bill: str = "W-1"):
    """The visitor (not signed in) looks the bill up, presses its button and names the wallet."""
    client.get("/language/en")
    page = lookup_page(client)
    token = dict((b, t) for t, b in _GUEST_BILL.findall(page))[bill]
    wallet_page = client.post("/pay/start", data={"bill": token, "csrf_token": csrf_token_from(page)})
    assert wallet_page.status_code == 200
    html = wallet_page.get_data(as_text=True)
    return client.post(
        "/pay/wallet", data={"bill": token, "wallet": wallet, "csrf_token": csrf_token_from(html)}
    )


def sent_code(db) -> str:
    db.expire_all()
    notice = db.scalar(sa.select(Notification).where(Notification.kind == "guest_code"))
    return params_of(notice)["code"]


def enter(client, code: str):
    page = client.get("/account/login").get_data(as_text=True)  # any form: the token is the session's
    return client.post("/pay/code", data={"code": code, "csrf_token": csrf_token_from(page)})


def test_the_right_code_pays_from_the_named_wallet(app, client, db, water, payer):  # noqa: F811
    assert start(client, "139 0000 0321").status_code == 302
    with app.app_context():
        code = sent_code(db)
    paid = enter(client, code)

    assert paid.status_code == 302 and paid.location.endswith("/pay/done")
    payment = db.scalar(sa.select(Payment))
    assert payment.user_id == payer.id and payment.channel is PaymentChannel.GUEST
    assert payment.total_fen == 4_680 + 140  # the bill with its late fee, as the agency reports it
    done = client.get("/pay/done").get_data(as_text=True)
    assert "Paid: ¥48.20" in done and "/receipts/verify/" in done
    assert "王" not in done and "13900000321" not in done  # nothing of the payer beyond the amount
    token = db.scalar(sa.select(GuestAttempt.token))
    with app.test_request_context():
        assert services.confirm(db, None, token, code, "en").id == payment.id  # replayed: the same payment
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
    later = lookup_page(client)
    assert "王小明" not in later and "13900000321" not in later  # the visitor's lookups stay masked


def test_by_wallet_number_and_a_wrong_code_three_times_ends_the_try(app, client, db, water, payer):  # noqa: F811
    number = wallet_number(payer.id)
    mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert user_id_of_wallet_number(number) == payer.id and user_id_of_wallet_number(mistyped) is None
    start(client, f"{number[:4]} {number[4:8]} {number[8:12]} {number[12:]}")
    with app.app_context():
        code = sent_code(db)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    first = enter(client, wrong)
    assert first.status_code == 200 and "That code is not right. 2 tries left." in first.get_data(
        as_text=True
    )
    enter(client, wrong)
    ended = enter(client, wrong)
    assert ended.status_code == 302 and ended.location.endswith("/bills/")
    assert db.scalar(sa.select(GuestAttempt.state)) is AttemptState.ENDED
    token = db.scalar(sa.select(GuestAttempt.token))
    with app.test_request_context(), pytest.raises(services.TryEnded):
        services.confirm(db, None, token, code, "en")  # the right code now pays nothing
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_a_code_for_one_bill_pays_no_other_and_an_unknown_wallet_is_not_told(app, client, db, water, payer):  # noqa: F811
    start(client, "13900000321", "W-1")
    with app.app_context():
        code_for_w1 = sent_code(db)
    start(client, "13900000321", "W-2")  # a second try in the same browser: its own code
    assert enter(client, code_for_w1).status_code == 200  # wrong for W-2's try
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0

    other = app.test_client()
    answer = start(other, "13900009999")  # nobody's
    assert answer.status_code == 302  # asked for a code like any other: whether a wallet exists is not said
    page = other.get("/pay/code").get_data(as_text=True)
    assert "If the wallet exists" in page
    told = sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "guest_code")
    assert db.scalar(told) == 2  # the payer's two tries; nobody was sent a code for the unknown one


def test_codes_are_limited_per_wallet(app, client, db, water, payer):  # noqa: F811
    app.config["RATELIMIT_GUEST_WALLET"] = "2 per hour"
    statuses = [start(app.test_client(), "13900000321").status_code for _ in range(3)]

    assert statuses == [302, 302, 429]
    codes = db.scalars(sa.select(Notification.params_json).where(Notification.kind == "guest_code")).all()
    assert len(codes) == 2 and all("sealed_code" in json.loads(p) for p in codes)  # never in clear


def test_a_wallet_that_cannot_pay_leaves_nothing_behind_and_says_nothing_of_it(app, client, db, water):  # noqa: F811
    poor = UserFactory(phone="13900000654", real_name="赵六", locale="en")
    fund(app, db, poor, 1_000)  # ¥10: not enough for ¥48.20
    start(client, "13900000654")
    with app.app_context():
        code = sent_code(db)
    refused = enter(client, code)

    assert refused.status_code == 302 and refused.location.endswith("/bills/")
    page = client.get("/bills/").get_data(as_text=True)
    assert "The wallet could not pay this bill. Nothing was paid." in page and "¥10.00" not in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0  # no half-made payment
    assert "Unpaid" in lookup_page(client)  # the bill is still open for anyone to pay
    assert db.scalar(sa.select(GuestAttempt.state)) is AttemptState.ENDED


def test_a_bill_paid_meanwhile_is_not_paid_again(app, client, db, water, payer):  # noqa: F811
    from portal.bills.models import Bill, StoredBillStatus

    start(client, "13900000321")
    with app.app_context():
        code = sent_code(db)
    db.execute(sa.update(Bill).where(Bill.bill_no == "W-1").values(status=StoredBillStatus.PAID))
    db.flush()  # paid at the agency's counter while the code was on its way

    assert enter(client, code).status_code == 302
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_the_wallet_limit_counts_the_payer_however_it_is_typed(app, client, db, water, payer):  # noqa: F811
    app.config["RATELIMIT_GUEST_WALLET"] = "2 per hour"
    typed = ["13900000321", "+86 139 0000 0321", wallet_number(payer.id)]
    statuses = [start(app.test_client(), wallet).status_code for wallet in typed]

    assert statuses == [302, 302, 429]
