"""Checkout races with real connections and committed transactions, through the HTTP layer: the same
form submitted from 10 threads at once, and two residents paying one bill at the same moment."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.agencies.models import Agency, AgencyCategory
from portal.bills.models import Bill
from portal.payments.models import Payment
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from portal.wallet.verify import ledger_violations
from tests.conftest import login, make_config
from tests.factories import DEFAULT_PASSWORD, UserFactory, password_hash
from tests.payments.conftest import CARD, confirm_form, review


@pytest.fixture(scope="module")
def live_app(make_database):
    url = make_database()
    app = create_app(make_config(url, RATELIMIT_ENABLED=False))
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "race-water": {"adapter": "local"}}
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        session.add(
            Agency(code="race-water", name_zh="竞争水务", name_en="Race Water", category=AgencyCategory.WATER)
        )
    yield app
    app.extensions["portal.db"].dispose()


def committed(app, work):
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        return work(session)


def resident_with_bill(app, account: str, funds_fen: int = 100_000) -> tuple[str, int]:
    phone = f"137{uuid.uuid4().int % 10**8:08d}"

    def create(session):
        user = UserFactory.build(phone=phone, password_hash=password_hash(DEFAULT_PASSWORD))
        session.add(user)
        agency = session.scalar(select(Agency).where(Agency.code == "race-water"))
        if session.scalar(select(Bill).where(Bill.account_reference == account)) is None:
            session.add(
                Bill(
                    agency_id=agency.id,
                    bill_no=f"B{account}",
                    account_reference=account,
                    payer_name="李四",
                    amount_fen=3_000,
                )
            )
        session.flush()  # the user's id names the wallet
        wallet = wallet_service(session)
        wallet.open_wallet(wallet_owner(user), "basic")
        card = wallet.link_card(wallet_owner(user), CARD).reference
        wallet.top_up(wallet_owner(user), funds_fen, card=card, idempotency_key=f"fund-{phone}")
        return user.id

    return phone, committed(app, create)


def balance_of(app, user_id: int) -> int:
    return committed(app, lambda session: wallet_service(session).balance(f"user:{user_id}").posted_fen)


def logged_in_client(app, phone: str):
    client = app.test_client()
    client.get("/language/en")
    login(client, phone)
    return client


def lookup(client, account: str) -> str:
    return client.get(f"/bills/race-water?account_reference={account}").get_data(as_text=True)


def test_one_form_submitted_from_ten_threads_pays_once(live_app):
    account = str(6_000_000_000 + uuid.uuid4().int % 10**9)
    phone, user_id = resident_with_bill(live_app, account)
    first = logged_in_client(live_app, phone)
    form = confirm_form(review(first, page=lookup(first, account)).get_data(as_text=True))
    cookie = first.get_cookie("portal_session").value
    clients = []
    for _ in range(10):
        client = live_app.test_client()
        client.set_cookie("portal_session", cookie)
        clients.append(client)
    start = threading.Barrier(10)

    def submit(client):
        start.wait()
        return client.post("/payments/confirm", data=form)

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(submit, clients))

    assert {r.status_code for r in responses} == {302}
    assert len({r.location for r in responses}) == 1
    assert (
        committed(
            live_app,
            lambda s: s.scalar(select(func.count()).select_from(Payment).where(Payment.user_id == user_id)),
        )
        == 1
    )
    assert balance_of(live_app, user_id) == 100_000 - 3_000
    assert committed(live_app, ledger_violations) == []


def test_two_residents_paying_one_bill_at_once_one_succeeds_and_the_other_is_not_charged(live_app):
    account = str(7_000_000_000 + uuid.uuid4().int % 10**9)
    residents = [resident_with_bill(live_app, account) for _ in range(2)]
    clients = [logged_in_client(live_app, phone) for phone, _ in residents]
    forms = [confirm_form(review(c, page=lookup(c, account)).get_data(as_text=True)) for c in clients]
    start = threading.Barrier(2)

    def submit(pair):
        client, form = pair
        start.wait()
        return client.post("/payments/confirm", data=form)

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(submit, zip(clients, forms, strict=True)))

    codes = sorted(r.status_code for r in responses)
    assert codes == [302, 409], [r.get_data(as_text=True)[:300] for r in responses]
    loser = responses[[r.status_code for r in responses].index(409)].get_data(as_text=True)
    assert "has just been paid" in loser or "changed since you reviewed it" in loser
    balances = sorted(balance_of(live_app, user_id) for _, user_id in residents)
    assert balances == [100_000 - 3_000, 100_000]
    assert committed(live_app, ledger_violations) == []
