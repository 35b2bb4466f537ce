"""Forgotten passwords: a one-time link through the notifier, the same answer for every account."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import PasswordResetToken
from portal.audit.models import AuditEvent
from portal.db import utcnow
from tests.conftest import login, submit
from tests.factories import DEFAULT_PASSWORD, FinanceFactory, UserFactory

NEW_PASSWORD = "violet harbour lantern 42"
_LINK = re.compile(r"https?://\S+/account/reset-password/([A-Za-z0-9_-]+)")


def outbox(app):
    """What the notifier was handed, newest first, once the worker has sent what the requests queued."""
    from portal import outbox as queue
    from portal import worker

    with app.app_context():
        queue.run(app.extensions["portal.db"], worker.HANDLERS, once=True)
    return app.extensions["portal.notifier"].messages()


def ask(client, identifier):
    return submit(client, "/account/forgot-password", {"identifier": identifier})


def token_from(app) -> str:
    return _LINK.search(outbox(app)[0].body).group(1)


@pytest.fixture
def resident(client, db):
    client.get("/language/en")
    return UserFactory(phone="13700000201")


def test_login_page_links_to_the_reset_page(client):
    client.get("/language/en")

    page = client.get("/account/login").get_data(as_text=True)

    assert 'href="/account/forgot-password"' in page and "Forgot your password?" in page


def test_known_and_unknown_accounts_get_the_same_answer(app, client, resident):
    FinanceFactory(email="clerk-reset@example.cn")
    answers = [ask(client, who) for who in ("13700000201", "13700000299", "clerk-reset@example.cn")]

    assert {(r.status_code, r.location) for r in answers} == {(302, "/account/forgot-password/sent")}
    assert [m.recipient for m in outbox(app)] == ["13700000201"]  # nothing for unknown or staff
    assert "we have sent it a link" in client.get("/account/forgot-password/sent").get_data(as_text=True)


def test_the_link_is_stored_only_as_a_hash_and_lasts_30_minutes(app, client, db, resident):
    ask(client, "+86 137-0000-0201")
    token = token_from(app)

    row = db.scalars(sa.select(PasswordResetToken)).one()
    assert row.user_id == resident.id and row.token_hash != token and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(minutes=30)
    assert outbox(app)[0].channel == "sms"


def test_the_link_sets_a_new_password_and_ends_every_session(app, client, db, resident):
    other_device = app.test_client()
    login(other_device, "13700000201")
    ask(client, "13700000201")
    path = f"/account/reset-password/{token_from(app)}"

    response = submit(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302 and response.location == "/account/login"
    assert other_device.get("/account/").status_code == 302  # logged out there
    assert (
        submit(
            client, "/account/login", {"identifier": "13700000201", "password": DEFAULT_PASSWORD}
        ).status_code
        == 200
    )
    login(client, "13700000201", NEW_PASSWORD)
    actions = db.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.subject == f"user:{resident.id}", AuditEvent.action.startswith("password."))
        .order_by(AuditEvent.seq)
    ).all()
    assert actions == ["password.reset_requested", "password.reset"]


def test_a_used_link_does_not_work_again(app, client, resident):
    ask(client, "13700000201")
    path = f"/account/reset-password/{token_from(app)}"
    submit(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    again = client.get(path).get_data(as_text=True)

    assert "This link no longer works" in again and 'name="password"' not in again


def test_an_expired_link_does_not_work(app, client, db, resident):
    ask(client, "13700000201")
    token = token_from(app)
    db.execute(sa.update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1)))

    page = client.get(f"/account/reset-password/{token}").get_data(as_text=True)
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    posted = submit(client, f"/account/reset-password/{token}", form, page="/account/forgot-password")

    assert "has expired or has already been used" in page
    assert "This link no longer works" in posted.get_data(as_text=True)


def test_a_made_up_link_does_not_work(client):
    client.get("/language/en")

    assert "This link no longer works" in client.get("/account/reset-password/guess").get_data(as_text=True)


def test_a_newer_link_replaces_the_older_one(app, client, resident):
    ask(client, "13700000201")
    ask(client, "13700000201")
    newest, older = (_LINK.search(m.body).group(1) for m in outbox(app))

    assert "This link no longer works" in client.get(f"/account/reset-password/{older}").get_data(
        as_text=True
    )
    assert 'name="password"' in client.get(f"/account/reset-password/{newest}").get_data(as_text=True)


def test_the_password_policy_applies(app, client, resident):
    ask(client, "13700000201")
    path = f"/account/reset-password/{token_from(app)}"

    response = submit(client, path, {"password": "1234567890", "confirm": "1234567890"})

    assert response.status_code == 200 and 'href="#password"' in response.get_data(as_text=True)
    assert 'name="password"' in client.get(path).get_data(as_text=True)  # the link still works


def test_one_account_gets_at_most_three_links_an_hour(app, client, resident):
    for _ in range(5):
        assert ask(client, "13700000201").status_code == 302

    assert len(outbox(app)) == 3


def test_asking_is_rate_limited_per_address(app, client, resident):
    app.config["RATELIMIT_PASSWORD_RESET"] = "2 per minute"

    statuses = [ask(client, "13700000299").status_code for _ in range(3)]

    assert statuses == [302, 302, 429]
