import json
import re

import pytest
from sqlalchemy import select

from portal.accounts.models import VerificationTier
from portal.audit.models import AuditEvent
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import csrf_token_from, login, submit
from tests.factories import ClerkFactory, UserFactory


@pytest.fixture
def resident(client, db):
    user = UserFactory(phone="13500000001")
    login(client, user.phone)
    client.get("/language/en")
    return user


def link(client):
    response = submit(client, "/wallet/cards/new", {"card_number": "6222 0200 0000 0000 018"})
    assert response.status_code == 302


def post_move(client, path, amount, key=None):
    page = client.get(path).get_data(as_text=True)
    key = key or re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]+)"', page).group(1)
    card = re.search(r'<option[^>]*value="(sbx_[^"]+)"', page).group(1)
    data = {"amount": amount, "card": card, "idempotency_key": key, "csrf_token": csrf_token_from(page)}
    return client.post(path, data=data), data


def balance_of(app, db, user):
    with app.test_request_context():
        return wallet_service(db).balance(wallet_owner(user))


def test_wallet_home_opens_the_wallet_and_shows_limits(client, resident):
    page = client.get("/wallet/").get_data(as_text=True)

    assert "Available to spend" in page and "¥0.00" in page
    assert "¥2,000.00" in page and "¥5,000.00" in page and "¥10,000.00" in page
    assert "Sandbox bank" in page


def test_top_up_needs_a_card_first(client, resident):
    response = client.get("/wallet/top-up")

    assert response.status_code == 302 and response.headers["Location"].endswith("/wallet/cards/new")


def test_top_up_double_submit_moves_money_once(client, resident, app, db):
    link(client)

    first, data = post_move(client, "/wallet/top-up", "1,234.50")
    second = client.post("/wallet/top-up", data=data)

    assert first.status_code == second.status_code == 302
    assert balance_of(app, db, resident).posted_fen == 123_450
    assert "1 entries" in client.get("/wallet/statement").get_data(as_text=True)
    audited = db.scalars(select(AuditEvent).where(AuditEvent.action == "wallet.top_up")).all()
    assert [(event.actor, json.loads(event.details_json)) for event in audited] == [
        (f"user:{resident.id}", {"amount_fen": 123_450})
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter an amount"),
        ("abc", "Enter an amount in yuan"),
        ("1.234", "Enter an amount in yuan"),
        ("-5", "Enter an amount in yuan"),
        ("0", "at least ¥0.01"),
        ("1e309", "Enter an amount in yuan"),
        ("NaN", "Enter an amount in yuan"),
        ("99999999999999999999", "Enter an amount in yuan"),
    ],
)
def test_bad_amounts_get_a_message_next_to_the_field(client, resident, app, db, amount, message):
    link(client)

    response, _data = post_move(client, "/wallet/top-up", amount)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="#amount"' in page and message in page
    assert balance_of(app, db, resident).posted_fen == 0


def test_balance_limit_refusal_names_the_rule(client, resident, app, db):
    link(client)

    response, _data = post_move(client, "/wallet/top-up", "10000.01")

    page = response.get_data(as_text=True)
    assert "above your wallet&#39;s limit of ¥10,000.00" in page
    assert balance_of(app, db, resident).posted_fen == 0


def test_withdraw_more_than_available_is_refused(client, resident, app, db):
    link(client)
    post_move(client, "/wallet/top-up", "100")

    refused, _ = post_move(client, "/wallet/withdraw", "100.01")
    done, _ = post_move(client, "/wallet/withdraw", "40")

    assert "is not enough" in refused.get_data(as_text=True)
    assert done.status_code == 302
    assert balance_of(app, db, resident).posted_fen == 6_000


def test_id_verified_resident_linking_a_card_reaches_the_top_tier(client, db, app):
    with app.app_context():  # the ID number is encrypted with the app's IDENTITY_KEYS
        user = UserFactory(
            phone="13500000002",
            national_id="11010519491231002X",
            verification_tier=VerificationTier.ID_VERIFIED,
        )
    login(client, user.phone)

    link(client)

    db.refresh(user)
    assert user.verification_tier is VerificationTier.ID_AND_CARD
    assert balance_of(app, db, user).limits.per_payment_fen == 5_000_000


def test_a_card_linked_before_the_identity_check_gives_the_top_tier_at_the_check(client, db, app):
    user = UserFactory(phone="13500000003")
    login(client, user.phone)
    link(client)
    db.refresh(user)
    assert user.verification_tier is VerificationTier.BASIC

    submit(client, "/account/identity", {"real_name": "张三", "national_id": "11010519491231002X"})

    db.refresh(user)
    assert user.verification_tier is VerificationTier.ID_AND_CARD
    assert balance_of(app, db, user).limits.per_payment_fen == 5_000_000
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject == f"user:{user.id}")).all()
    assert {"wallet.card_linked", "identity.verified"} <= set(actions)


def test_invalid_card_number_is_refused(client, resident):
    response = submit(client, "/wallet/cards/new", {"card_number": "6222 0200 0000 0000 019"})

    assert response.status_code == 200
    assert 'href="#card_number"' in response.get_data(as_text=True)


def test_statement_filters_pages_and_csv(client, resident, app, db):
    link(client)
    for amount in ("10", "20", "30"):
        post_move(client, "/wallet/top-up", amount)
    post_move(client, "/wallet/withdraw", "5")

    page = client.get("/wallet/statement?kind=withdrawal").get_data(as_text=True)
    assert "1 entries" in page and "-¥5.00" in page

    response = client.get("/wallet/statement?format=csv")
    body = response.get_data()
    assert response.mimetype == "text/csv"
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 5
    assert lines[1].split(",")[2:4] == ["-5.00", "55.00"]


def test_absurd_statement_page_is_an_empty_page_not_an_error(client, resident):
    response = client.get("/wallet/statement?page=99999999999999999999")

    assert response.status_code == 200 and "Nothing yet." in response.get_data(as_text=True)


def test_statement_refuses_reversed_dates_with_a_message(client, resident):
    page = client.get("/wallet/statement?date_from=2026-05-02&date_to=2026-05-01").get_data(as_text=True)

    assert 'href="#date_to"' in page


def test_staff_have_no_wallet_pages(client, db):
    login(client, ClerkFactory().email)

    assert client.get("/wallet/").status_code == 403


@pytest.mark.parametrize(
    "query", ["date_to=9999-12-31", "date_from=0001-01-01", "date_to=9999-12-31&format=csv"]
)
def test_statement_refuses_dates_out_of_range_with_a_message(client, resident, query):
    response = client.get(f"/wallet/statement?{query}")

    assert response.status_code in (200, 400)
    assert "Enter a date between 2000 and 2099" in response.get_data(as_text=True)
