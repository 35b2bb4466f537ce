"""A taxpayer number may be a resident ID number: the tax agency declares its query field sensitive, so
saved accounts keep it only encrypted (one row per query still, by a blind index), and the bill pages
carry it only inside opaque tokens that nobody can read or alter."""

import html
import json
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from config import sandbox_agencies
from portal.agencies.models import AgencyCategory
from portal.bills.models import SavedAccount
from portal.bills.selection import Selection
from portal.payments.checkout import selection_from_token
from tests.conftest import SANDBOX_SECRET, csrf_token_from, login, submit
from tests.factories import AgencyFactory, UserFactory

PERSON_ID = "11010519491231002X"  # the sandbox tax bureau's personal taxpayer
LOOKUP = "/bills/tax"
_BOX = re.compile(r'name="bill" id="[^"]*" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="taxpayer_id" value="([^"]*)">')


@pytest.fixture
def tax(app, db, sandbox):
    app.config["AGENCY_ADAPTERS"] = {
        **app.config["AGENCY_ADAPTERS"],
        **sandbox_agencies(sandbox, SANDBOX_SECRET),
    }
    return AgencyFactory(code="tax", name_en="Tax Bureau", category=AgencyCategory.TAX)


@pytest.fixture
def resident(client, db):
    user = UserFactory(phone="13600000301")
    login(client, user.phone)
    client.get("/language/en")
    return user


def lookup_page(client) -> str:
    """The tax bureau's form is posted (with its CSRF token): the number stays out of the address."""
    form = client.get(LOOKUP).get_data(as_text=True)
    assert '<form method="post" novalidate>' in form
    data = {"taxpayer_id": PERSON_ID, "csrf_token": csrf_token_from(form)}
    return client.post(LOOKUP, data=data).get_data(as_text=True)


def save_from_lookup(client, nickname: str = "Me"):
    page = lookup_page(client)
    hidden = html.unescape(_HIDDEN.search(page).group(1))
    data = {"taxpayer_id": hidden, "nickname": nickname, "csrf_token": csrf_token_from(page)}
    return client.post("/bills/tax/save", data=data)


def test_the_bill_page_carries_the_id_number_only_sealed(client, db, tax, resident):
    page = lookup_page(client)
    body = page.split("<main", 1)[1]

    tokens = _BOX.findall(body)
    assert tokens and "TAX-2026-11-0002" in body  # the bill is there, with its checkbox
    assert _HIDDEN.search(body).group(1) != PERSON_ID
    assert PERSON_ID not in body.replace(f'value="{PERSON_ID}"', "", 1)  # only in the field just typed
    assert all(PERSON_ID not in html.unescape(token) for token in tokens)


def test_a_saved_tax_account_keeps_the_number_encrypted_and_still_shows_its_bills(
    app, client, db, tax, resident
):
    assert save_from_lookup(client).status_code == 302

    account = db.scalar(select(SavedAccount).where(SavedAccount.user_id == resident.id))
    row = db.execute(
        sa.select(sa.text("*")).select_from(SavedAccount.__table__).where(SavedAccount.id == account.id)
    ).one()
    assert not any(PERSON_ID in str(value) for value in row)
    assert account.query_json == "{}" and account.query_sealed_key is not None
    with app.app_context():
        assert account.query == {"taxpayer_id": PERSON_ID}
    page = client.get("/bills/mine").get_data(as_text=True)
    assert "TAX-2026-11-0002" in page and PERSON_ID not in page


def test_saving_the_same_tax_account_twice_keeps_one_row(client, db, tax, resident):
    save_from_lookup(client, "Me")
    save_from_lookup(client, "Myself")
    submit(client, "/bills/tax/save", {"taxpayer_id": PERSON_ID.lower(), "nickname": "Typed"}, page=LOOKUP)
    # a typed (plain) number is accepted too: it is the resident's own input, never sent back

    accounts = db.scalars(select(SavedAccount).where(SavedAccount.user_id == resident.id)).all()
    assert len(accounts) == 1 and accounts[0].nickname == "Typed"


def test_a_sealed_value_that_was_altered_is_not_saved(client, db, tax, resident):
    page = lookup_page(client)
    hidden = html.unescape(_HIDDEN.search(page).group(1))
    at = hidden.index(".") + 20  # inside the ciphertext (the last characters may be padding bits)
    altered = hidden[:at] + ("A" if hidden[at] != "A" else "B") + hidden[at + 1 :]

    response = client.post(
        "/bills/tax/save", data={"taxpayer_id": altered, "nickname": "X", "csrf_token": csrf_token_from(page)}
    )

    assert response.status_code == 302 and response.headers["Location"].endswith("/bills/tax")
    assert db.scalars(select(SavedAccount)).all() == []


def test_a_lookup_without_its_csrf_token_is_refused(client, db, tax, resident):
    response = client.post(LOOKUP, data={"taxpayer_id": PERSON_ID})

    assert response.status_code == 400 and PERSON_ID not in response.get_data(as_text=True)


def test_plain_query_fields_stay_readable_and_unique(app, client, db, resident):
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "water-sens": {"adapter": "local"}}
    AgencyFactory(code="water-sens")
    for nickname in ("Home", "Flat"):
        submit(
            client,
            "/bills/water-sens/save",
            {"account_reference": "3100200300", "nickname": nickname},
            page="/bills/water-sens?account_reference=3100200300",
        )

    account = db.scalars(select(SavedAccount).where(SavedAccount.user_id == resident.id)).one()
    assert account.query_json == '{"account_reference": "3100200300"}' and account.query_sealed is None
    assert account.nickname == "Flat"


def test_selection_tokens_are_opaque_and_refuse_tampering(app):
    with app.app_context():
        selection = Selection("tax", (("taxpayer_id", PERSON_ID),), "TAX-2026-11-0002")
        token = selection.token()
        key_id, _, body = token.partition(".")
        flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]

        assert PERSON_ID not in token and "TAX-2026" not in token
        assert token == selection.token()  # the same bill gives the same value: quotes compare equal
        assert selection_from_token(token) == selection
        old_style = json.dumps({"a": "tax", "q": {"taxpayer_id": PERSON_ID}, "b": "TAX-2026-11-0002"})
        for bad in (f"{key_id}.{flipped}", "nokey." + body, old_style, "", ".", "x" * 5000, "[" * 100_000):
            assert selection_from_token(bad) is None, bad[:40]


def test_a_selection_token_made_under_another_key_is_refused(app):
    with app.app_context():
        token = Selection("tax", (("taxpayer_id", PERSON_ID),), "TAX-1").token()
    app.config["IDENTITY_KEYS"] = {"other": b"o" * 32}

    with app.app_context():
        assert selection_from_token(token) is None


def test_saved_queries_follow_key_rotation_and_reindexing(app, client, db, tax, resident, runner):
    save_from_lookup(client, "Me")
    account = db.scalar(select(SavedAccount).where(SavedAccount.user_id == resident.id))
    old_key, old_index = dict(app.config["IDENTITY_KEYS"]), account.query_index
    app.config["IDENTITY_KEYS"] = {"k9": b"k" * 32, **old_key}
    app.config["IDENTITY_PREVIOUS_INDEX_KEYS"] = (app.config["IDENTITY_INDEX_KEY"],)
    app.config["IDENTITY_INDEX_KEY"] = b"n" * 40
    save_from_lookup(client, "Before reindex")  # the old index still finds the row: no second one

    rotated = runner.invoke(args=["users", "rotate-ids"])
    reindexed = runner.invoke(args=["users", "reindex"])

    assert "1 saved queries re-encrypted under key k9" in rotated.output, rotated.output
    assert "1 saved account indexes recomputed" in reindexed.output, reindexed.output
    db.expire_all()
    assert account.query_sealed_key == "k9" and account.query_index != old_index
    app.config["IDENTITY_KEYS"], app.config["IDENTITY_PREVIOUS_INDEX_KEYS"] = {"k9": b"k" * 32}, ()
    save_from_lookup(client, "After")
    db.expire_all()
    accounts = db.scalars(select(SavedAccount).where(SavedAccount.user_id == resident.id)).all()
    assert len(accounts) == 1 and accounts[0].nickname == "After"
    with app.app_context():
        assert accounts[0].query == {"taxpayer_id": PERSON_ID}
