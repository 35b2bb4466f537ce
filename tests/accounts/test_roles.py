import pytest

from tests.conftest import login, submit
from tests.factories import AdminFactory, AgencyFactory, ClerkFactory, FinanceFactory, UserFactory


def test_clerk_sees_own_agency_and_gets_404_for_another(client, db):
    own, other = AgencyFactory(code="water-a"), AgencyFactory(code="water-b")
    clerk = ClerkFactory(agency=own)
    login(client, clerk.email)

    assert client.get("/agencies/water-a/").status_code == 200
    assert client.get("/agencies/water-b/").status_code == 404
    assert client.get("/agencies/no-such-agency/").status_code == 404
    assert other.code not in client.get("/agencies/").headers.get("Location", "")


def test_clerk_list_redirects_to_own_agency(client, db):
    clerk = ClerkFactory(agency=AgencyFactory(code="gas-a"))
    login(client, clerk.email)

    response = client.get("/agencies/")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/agencies/gas-a/")


@pytest.mark.parametrize("factory", [FinanceFactory, AdminFactory])
def test_finance_and_admin_see_every_agency(client, db, factory):
    AgencyFactory(code="power-a")
    AgencyFactory(code="power-b")
    login(client, factory().email)

    listing = client.get("/agencies/").get_data(as_text=True)
    assert "power-a" in listing and "power-b" in listing
    assert client.get("/agencies/power-b/").status_code == 200


def test_resident_gets_403_on_staff_pages(client, db):
    AgencyFactory(code="tax-a")
    login(client, UserFactory().phone)

    assert client.get("/agencies/").status_code == 403
    assert client.get("/agencies/tax-a/").status_code == 403
    assert client.get("/admin/staff").status_code == 403


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/admin/staff")

    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize("factory", [FinanceFactory, ClerkFactory])
def test_only_admins_manage_staff(client, db, factory):
    login(client, factory().email)

    assert client.get("/admin/staff").status_code == 403
    assert client.get("/admin/staff/new").status_code == 403


def test_staff_with_initial_password_must_change_it_first(client, db):
    clerk = ClerkFactory(must_change_password=True)
    login(client, clerk.email)

    response = client.get(f"/agencies/{clerk.agency.code}/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/password")

    submit(
        client,
        "/account/password",
        {
            "current_password": "correct horse battery staple",
            "password": "clerk chooses a fresh phrase",
            "confirm": "clerk chooses a fresh phrase",
        },
    )
    assert client.get(f"/agencies/{clerk.agency.code}/").status_code == 200
