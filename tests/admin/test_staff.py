from sqlalchemy import select

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.authz import Role
from tests.conftest import login, submit
from tests.factories import AdminFactory, AgencyFactory, ClerkFactory


def test_admin_creates_a_clerk_bound_to_one_agency(client, db):
    agency = AgencyFactory(code="water-x")
    login(client, AdminFactory().email)

    response = submit(
        client,
        "/admin/staff/new",
        {
            "email": "New.Clerk@Water.example.cn",
            "display_name": "王小明",
            "role": "clerk",
            "agency": "water-x",
            "password": "initial phrase for the clerk",
        },
    )

    assert response.status_code == 302
    clerk = db.scalar(select(User).where(User.email == "new.clerk@water.example.cn"))
    assert clerk.role is Role.CLERK and clerk.agency_id == agency.id and clerk.must_change_password


def test_clerk_without_agency_is_refused(client, db):
    login(client, AdminFactory().email)

    response = submit(
        client,
        "/admin/staff/new",
        {
            "email": "lonely@example.cn",
            "role": "clerk",
            "agency": "",
            "password": "initial phrase for the clerk",
        },
    )

    assert response.status_code == 200
    assert 'href="#agency"' in response.get_data(as_text=True)
    assert db.scalar(select(User).where(User.email == "lonely@example.cn")) is None


def test_finance_with_agency_is_refused(client, db):
    AgencyFactory(code="gas-x")
    login(client, AdminFactory().email)

    response = submit(
        client,
        "/admin/staff/new",
        {
            "email": "fin@example.cn",
            "role": "finance",
            "agency": "gas-x",
            "password": "initial phrase for finance",
        },
    )

    assert 'href="#agency"' in response.get_data(as_text=True)


def test_admin_disables_after_confirming_and_enables_a_staff_member(client, db):
    clerk = ClerkFactory()
    login(client, AdminFactory().email)
    client.get("/language/en")
    path = f"/admin/staff/{clerk.id}/active"

    asked = submit(client, path, {"active": "no", "from": "list"}, page="/admin/staff")
    db.refresh(clerk)
    assert asked.status_code == 200 and clerk.is_active is True  # asked once more, nothing done yet
    page = asked.get_data(as_text=True)
    assert f"Disable the account of {clerk.email}?" in page
    assert 'name="from" value="list"' in page and 'href="/admin/staff"' in page  # back to the list
    from_member_page = submit(client, path, {"active": "no"}, page=f"/admin/staff/{clerk.id}")
    assert f'href="/admin/staff/{clerk.id}"' in from_member_page.get_data(as_text=True)

    for _ in range(2):  # the confirmation sent twice (a retry) disables once, and never re-enables
        done = submit(client, path, {"active": "no", "confirmed": "yes", "from": "list"}, page="/admin/staff")
        assert done.headers["Location"] == "/admin/staff"
    db.refresh(clerk)
    assert clerk.is_active is False
    disabled = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.disabled")).all()
    assert len(disabled) == 1

    enabled = submit(client, path, {"active": "yes"}, page=f"/admin/staff/{clerk.id}")  # no second question
    assert enabled.headers["Location"] == f"/admin/staff/{clerk.id}"  # back on the member's page
    db.refresh(clerk)
    assert clerk.is_active is True
    assert submit(client, path, {}, page="/admin/staff").status_code == 400  # which state it wants


def test_admin_cannot_toggle_a_resident_or_a_missing_user(client, db):
    from tests.factories import UserFactory

    resident = UserFactory()
    login(client, AdminFactory().email)

    for path in (f"/admin/staff/{resident.id}/active", "/admin/staff/999999/active"):
        assert submit(client, path, {"active": "no"}, page="/admin/staff").status_code == 404


def test_cli_creates_staff(runner, db):
    AgencyFactory(code="tax-x")

    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "clerk",
            "--email",
            "cli.clerk@tax.example.cn",
            "--agency",
            "tax-x",
            "--password",
            "initial phrase from the cli",
        ]
    )

    assert result.exit_code == 0, result.output
    clerk = db.scalar(select(User).where(User.email == "cli.clerk@tax.example.cn"))
    assert clerk.role is Role.CLERK and clerk.agency.code == "tax-x"


def test_cli_refuses_a_clerk_without_agency(runner, db):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "clerk",
            "--email",
            "no.agency@example.cn",
            "--password",
            "initial phrase from the cli",
        ]
    )

    assert result.exit_code != 0
    assert "agency" in result.output.lower() or "机构" in result.output


def test_admin_moves_a_clerk_to_another_agency_and_makes_finance_of_another(client, db):
    from portal.audit.models import AuditEvent

    gas = AgencyFactory(code="gas-move")
    clerk = ClerkFactory()
    admin = AdminFactory()
    login(client, admin.email)

    moved = submit(client, f"/admin/staff/{clerk.id}", {"role": "clerk", "agency": "gas-move"})
    db.refresh(clerk)
    assert moved.status_code == 302 and clerk.agency_id == gas.id

    promoted = submit(client, f"/admin/staff/{clerk.id}", {"role": "finance", "agency": ""})
    db.refresh(clerk)
    assert promoted.status_code == 302 and clerk.role is Role.FINANCE and clerk.agency_id is None
    changes = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.role_changed")).all()
    assert [event.actor for event in changes] == [f"user:{admin.id}"] * 2


def test_role_change_keeps_clerks_bound_to_one_agency_and_admins_their_own_role(client, db):
    finance = ClerkFactory(role=Role.FINANCE, agency=None)
    admin = AdminFactory()
    login(client, admin.email)

    no_agency = submit(client, f"/admin/staff/{finance.id}", {"role": "clerk", "agency": ""})
    own = submit(client, f"/admin/staff/{admin.id}", {"role": "finance", "agency": ""})

    assert 'href="#agency"' in no_agency.get_data(as_text=True)
    assert 'href="#role"' in own.get_data(as_text=True)
    db.refresh(finance)
    db.refresh(admin)
    assert finance.role is Role.FINANCE and admin.role is Role.ADMIN


def test_a_clerk_moved_to_finance_leaves_the_agency_the_form_still_shows(client, db):
    clerk = ClerkFactory()
    login(client, AdminFactory().email)

    moved = submit(client, f"/admin/staff/{clerk.id}", {"role": "finance", "agency": clerk.agency.code})

    assert moved.status_code == 302
    db.refresh(clerk)
    assert clerk.role is Role.FINANCE and clerk.agency is None


def test_staff_page_shows_two_factor_status_and_a_manage_link(client, db):
    pending = ClerkFactory(totp_secret=None, totp_enabled_at=None)
    login(client, AdminFactory().email)
    client.get("/language/en")

    page = client.get("/admin/staff").get_data(as_text=True)
    member = client.get(f"/admin/staff/{pending.id}").get_data(as_text=True)

    assert f'href="/admin/staff/{pending.id}"' in page and "Not set up" in page
    assert "Not set up yet: asked for at the next login" in member
    assert "Reset two-factor authentication" not in member  # nothing to reset yet


def test_admin_unlocks_a_locked_out_staff_member(client, db):
    from datetime import timedelta

    from portal.audit.models import AuditEvent
    from portal.db import utcnow

    clerk = ClerkFactory(failed_login_count=10, locked_until=utcnow() + timedelta(minutes=15))
    login(client, AdminFactory().email)
    client.get("/language/en")
    page = client.get(f"/admin/staff/{clerk.id}").get_data(as_text=True)
    assert "after too many failed logins" in page and "Unlock this account" in page

    response = submit(client, f"/admin/staff/{clerk.id}/unlock", {}, page=f"/admin/staff/{clerk.id}")

    assert response.status_code == 302
    db.refresh(clerk)
    assert (clerk.failed_login_count, clerk.locked_until) == (0, None)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "account.unlocked"))
    assert event.subject == f"user:{clerk.id}" and '"was_locked": true' in event.details_json
    assert "Unlock this account" not in client.get(f"/admin/staff/{clerk.id}").get_data(as_text=True)
