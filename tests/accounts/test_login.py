from datetime import timedelta

from sqlalchemy import select

from portal.accounts.models import LoginSession
from portal.audit.models import AuditEvent
from portal.db import utcnow
from tests.conftest import csrf_token_from, login, logout, submit
from tests.factories import DEFAULT_PASSWORD, UserFactory

VAGUE = "login details are incorrect"


def attempt(client, identifier, password):
    return submit(client, "/account/login", {"identifier": identifier, "password": password})


def use_english(client):
    client.get("/language/en")


def test_login_with_mobile_number_starts_a_new_session(client, db):
    user = UserFactory(phone="13700000001")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"

    login(client, "137 0000 0001")

    with client.session_transaction() as session:
        assert "planted" not in session
    assert client.get("/account/").status_code == 200
    row = db.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert row is not None and row.ended_at is None


def test_wrong_password_and_unknown_account_get_the_same_message(client, db):
    UserFactory(phone="13700000002")
    use_english(client)

    wrong = attempt(client, "13700000002", "not the password at all")
    unknown = attempt(client, "13700009999", "not the password at all")

    assert wrong.status_code == unknown.status_code == 200
    assert VAGUE in wrong.get_data(as_text=True)
    assert VAGUE in unknown.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, db, app):
    user = UserFactory(phone="13700000003")
    use_english(client)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        attempt(client, "13700000003", "wrong password here")
    db.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()

    response = attempt(client, "13700000003", DEFAULT_PASSWORD)

    assert VAGUE in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_lock_expires(client, db):
    user = UserFactory(phone="13700000004", locked_until=utcnow() - timedelta(seconds=1))

    login(client, "13700000004")

    db.refresh(user)
    assert user.locked_until is None and user.failed_login_count == 0


def test_disabled_account_cannot_log_in(client, db):
    UserFactory(phone="13700000005", is_active=False)
    use_english(client)

    response = attempt(client, "13700000005", DEFAULT_PASSWORD)

    assert VAGUE in response.get_data(as_text=True)


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_useless(client, db, app):
    UserFactory(phone="13700000006")
    login(client, "13700000006")
    stolen = client.get_cookie("portal_session").value

    logout(client)
    assert client.get("/account/").status_code == 302

    thief = app.test_client()
    thief.set_cookie("portal_session", stolen)
    response = thief.get("/account/")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_logout_needs_a_post_with_csrf_token(client, db):
    UserFactory(phone="13700000007")
    login(client, "13700000007")

    assert client.get("/account/logout").status_code == 405
    assert client.post("/account/logout").status_code == 400
    assert client.get("/account/").status_code == 200


def test_next_parameter_only_follows_local_paths(client, db):
    UserFactory(phone="13700000008")
    page = client.get("/account/login").get_data(as_text=True)

    response = client.post(
        "/account/login?next=https://evil.example/steal",
        data={"identifier": "13700000008", "password": DEFAULT_PASSWORD, "csrf_token": csrf_token_from(page)},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


def test_change_password_logs_out_other_browsers(client, db, app):
    user = UserFactory(phone="13700000009")
    other = app.test_client()
    login(other, "13700000009")
    login(client, "13700000009")

    response = submit(
        client,
        "/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": "a brand new long phrase",
            "confirm": "a brand new long phrase",
        },
    )

    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302
    [changed] = db.scalars(select(AuditEvent).where(AuditEvent.action == "password.changed")).all()
    assert changed.actor == changed.subject == f"user:{user.id}"
    logout(client)
    login(client, "13700000009", "a brand new long phrase")


def test_change_password_with_wrong_current_password_is_refused(client, db):
    UserFactory(phone="13700000010")
    login(client, "13700000010")

    response = submit(
        client,
        "/account/password",
        {
            "current_password": "not it at all",
            "password": "a brand new long phrase",
            "confirm": "a brand new long phrase",
        },
    )

    assert response.status_code == 200
    assert 'id="current_password-error"' in response.get_data(as_text=True)


def test_login_is_rate_limited(database_url):
    from portal import create_app
    from tests.conftest import make_config

    app = create_app(make_config(database_url, RATELIMIT_LOGIN="3 per minute"))
    client = app.test_client()
    form = {"identifier": "13700000011", "password": "not the password"}
    statuses = [submit(client, "/account/login", form).status_code for _ in range(4)]
    app.extensions["portal.db"].dispose()

    assert statuses == [200, 200, 200, 429]


def test_guessing_the_current_password_is_rate_limited_per_account(client, db):
    UserFactory(phone="13700000012")
    login(client, "13700000012")
    wrong = {
        "current_password": "a wrong guess",
        "password": "a brand new long phrase",
        "confirm": "a brand new long phrase",
    }

    statuses = [submit(client, "/account/password", wrong).status_code for _ in range(11)]

    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
