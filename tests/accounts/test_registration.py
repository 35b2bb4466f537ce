from sqlalchemy import select

from portal.accounts.models import LoginSession, User, VerificationTier
from portal.audit.models import AuditEvent
from portal.authz import Role
from tests.conftest import submit
from tests.factories import DEFAULT_PASSWORD, UserFactory


def register(client, identifier, password=DEFAULT_PASSWORD, confirm=None):
    return submit(
        client,
        "/account/register",
        {"identifier": identifier, "password": password, "confirm": confirm or password},
    )


def test_resident_registers_with_mobile_number_and_is_logged_in(client, db):
    response = register(client, "+86 138-0013-9999")

    assert response.status_code == 302
    user = db.scalar(select(User).where(User.phone == "13800139999"))
    assert user is not None
    assert user.role is Role.RESIDENT
    assert user.verification_tier is VerificationTier.BASIC
    assert user.password_hash.startswith("$argon2id$")
    assert db.scalar(select(LoginSession).where(LoginSession.user_id == user.id)) is not None
    assert client.get("/account/").status_code == 200
    registered = db.scalar(select(AuditEvent).where(AuditEvent.action == "resident.registered"))
    assert registered.subject == f"user:{user.id}" and registered.details_json == '{"channel": "phone"}'


def test_resident_registers_with_email_normalised_to_lower_case(client, db):
    response = register(client, "Li.Lei@Example.CN")

    assert response.status_code == 302
    assert db.scalar(select(User).where(User.email == "li.lei@example.cn")) is not None


def test_duplicate_mobile_number_is_refused_next_to_the_field(client, db):
    UserFactory(phone="13800138111")

    response = register(client, "13800138111")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="#identifier"' in page  # the error summary links to the field
    assert "already registered" in page or "已注册" in page
    assert db.scalar(select(User).where(User.phone == "13800138111").where(User.id.is_not(None))) is not None


def test_short_password_is_refused(client, db):
    response = register(client, "13800138112", password="Ab1!short")

    assert response.status_code == 200
    assert db.scalar(select(User).where(User.phone == "13800138112")) is None
    assert 'id="password-error"' in response.get_data(as_text=True)


def test_common_password_is_refused(client, db):
    for common in ("password123", "qwertyuiop", "1234567890", "aaaaaaaaaaaa"):
        response = register(client, "13800138113", password=common)
        assert response.status_code == 200
        assert 'id="password-error"' in response.get_data(as_text=True), common
    assert db.scalar(select(User).where(User.phone == "13800138113")) is None


def test_password_containing_the_mobile_number_is_refused(client, db):
    response = register(client, "13800138114", password="x13800138114y!")

    assert 'id="password-error"' in response.get_data(as_text=True)
    assert db.scalar(select(User).where(User.phone == "13800138114")) is None


def test_mismatched_confirmation_and_bad_identifier_are_both_reported(client, db):
    response = register(client, "12345", password=DEFAULT_PASSWORD, confirm="something else entirely")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="#confirm"' in page
    assert 'href="#identifier"' in page


def test_empty_form_gives_messages_not_an_error_page(client, db):
    response = submit(client, "/account/register", {})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("identifier", "password", "confirm"):
        assert f'id="{field}-error"' in page
