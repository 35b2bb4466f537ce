import pytest
from sqlalchemy import select

from config import sandbox_agencies
from portal.agencies.models import AgencyCategory
from portal.bills.models import SavedAccount, StoredBillStatus
from tests.conftest import SANDBOX_SECRET, login, submit
from tests.factories import AgencyFactory, BillFactory, UserFactory


@pytest.fixture
def setup(app, db, sandbox):
    app.config["AGENCY_ADAPTERS"] = {
        "water-mine": {"adapter": "local"},
        **sandbox_agencies(sandbox, SANDBOX_SECRET),
    }
    water = AgencyFactory(code="water-mine", name_en="Mine Water")
    traffic = AgencyFactory(code="traffic", name_en="Traffic Police", category=AgencyCategory.TRAFFIC)
    BillFactory(agency=water, account_reference="3100200300", bill_no="W-DUE", amount_fen=4_680)
    BillFactory(agency=water, account_reference="3100200300", bill_no="W-PAID", status=StoredBillStatus.PAID)
    return water, traffic


def save(client, path, data):
    return submit(
        client,
        path,
        data,
        page=path.rsplit("/save", 1)[0]
        + "?"
        + "&".join(f"{key}={value}" for key, value in data.items() if key != "nickname"),
    )


def test_resident_saves_accounts_and_sees_outstanding_bills_of_all(client, db, setup):
    user = UserFactory()
    login(client, user.phone)
    client.get("/language/en")

    assert (
        save(
            client, "/bills/water-mine/save", {"account_reference": "3100200300", "nickname": "Home"}
        ).status_code
        == 302
    )
    assert (
        save(
            client,
            "/bills/traffic/save",
            {"plate": "渝A12345", "notice_no": "5001012026000123", "nickname": "My car"},
        ).status_code
        == 302
    )
    page = client.get("/bills/mine").get_data(as_text=True)

    assert "Home" in page and "My car" in page
    assert "W-DUE" in page and "W-PAID" not in page
    assert "5001012026000123" in page and "¥30.00" in page
    assert len(db.scalars(select(SavedAccount).where(SavedAccount.user_id == user.id)).all()) == 2


def test_one_agency_down_leaves_the_others_on_the_dashboard(app, client, db, setup):
    user = UserFactory()
    login(client, user.phone)
    client.get("/language/en")
    save(client, "/bills/water-mine/save", {"account_reference": "3100200300", "nickname": "Home"})
    save(
        client,
        "/bills/traffic/save",
        {"plate": "渝A12345", "notice_no": "5001012026000123", "nickname": "Car"},
    )
    app.config["AGENCY_ADAPTERS"].update(sandbox_agencies("http://127.0.0.1:9", SANDBOX_SECRET))

    response = client.get("/bills/mine")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "W-DUE" in page and "temporarily unavailable" in page


def test_a_resident_cannot_remove_someone_elses_account(client, db, setup):
    owner, other = UserFactory(), UserFactory()
    login(client, owner.phone)
    save(client, "/bills/water-mine/save", {"account_reference": "3100200300", "nickname": "Home"})
    account = db.scalar(select(SavedAccount).where(SavedAccount.user_id == owner.id))
    client.post("/account/logout", data={})
    other_client = client.application.test_client()
    login(other_client, other.phone)

    response = submit(other_client, f"/bills/mine/{account.id}/delete", {}, page="/bills/mine")

    assert response.status_code == 404
    assert db.get(SavedAccount, account.id) is not None


def test_removing_a_saved_account_asks_once_more_then_removes_it(client, db, setup):
    login(client, UserFactory().phone)
    client.get("/language/en")
    save(client, "/bills/water-mine/save", {"account_reference": "3100200300", "nickname": "Home"})
    account_id = db.scalar(select(SavedAccount.id))
    path = f"/bills/mine/{account_id}/delete"

    asked = submit(client, path, {}, page="/bills/mine")

    assert asked.status_code == 200 and "Remove the saved account “Home”?" in asked.get_data(as_text=True)
    assert 'href="/bills/mine"' in asked.get_data(as_text=True)  # Cancel goes back
    db.expire_all()
    assert db.get(SavedAccount, account_id) is not None
    done = submit(client, path, {"confirmed": "yes"}, page="/bills/mine")
    assert done.status_code == 302 and done.headers["Location"].endswith("/bills/mine")
    db.expire_all()
    assert db.get(SavedAccount, account_id) is None


def test_saving_needs_valid_details_and_a_login(client, db, setup):
    assert client.get("/bills/mine").status_code == 302
    login(client, UserFactory().phone)

    response = save(client, "/bills/water-mine/save", {"account_reference": "12", "nickname": "Bad"})

    assert response.status_code == 302 and response.headers["Location"].endswith("/bills/water-mine")
    assert db.scalars(select(SavedAccount)).all() == []


def test_an_empty_nickname_is_asked_for_beside_its_field_with_the_bills_still_shown(client, db, setup):
    login(client, UserFactory().phone)
    client.get("/language/en")

    response = save(client, "/bills/water-mine/save", {"account_reference": "3100200300", "nickname": " "})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#nickname">Enter a nickname.' in page  # in the summary, linked to the field
    assert "W-DUE" in page  # the bills looked up again, so nothing has to be typed twice
    assert db.scalars(select(SavedAccount)).all() == []
