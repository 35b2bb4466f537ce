"""Staff sessions end after STAFF_IDLE_MINUTES without a request; activity is written at most once a
minute per session."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from config import ConfigError, load_config
from portal.accounts.models import LoginSession, User
from portal.db import utcnow
from tests.conftest import login
from tests.factories import FinanceFactory, UserFactory


def session_row(db, user: User) -> LoginSession:
    return db.scalar(select(LoginSession).where(LoginSession.user_id == user.id))


def idle_for(db, row: LoginSession, delta: timedelta) -> None:
    row.last_seen_at = utcnow() - delta
    db.flush()  # the next request reads the row on the same connection


def test_an_idle_staff_session_is_ended_and_the_login_page_says_why(client, db, app):
    finance = FinanceFactory()
    login(client, finance.email)
    client.get("/language/en")
    row = session_row(db, finance)
    idle_for(db, row, timedelta(minutes=app.config["STAFF_IDLE_MINUTES"], seconds=1))

    response = client.get("/agencies/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login?next=/agencies/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were logged out because there was no activity for 15 minutes" in page
    db.refresh(row)
    assert row.ended_at is not None
    assert client.get("/agencies/").headers["Location"].startswith("/account/login")


def test_a_staff_session_within_the_idle_limit_goes_on(client, db, app):
    finance = FinanceFactory()
    login(client, finance.email)
    row = session_row(db, finance)
    idle_for(db, row, timedelta(minutes=app.config["STAFF_IDLE_MINUTES"] - 1))

    assert client.get("/agencies/").status_code == 200

    db.refresh(row)
    assert row.ended_at is None and utcnow() - row.last_seen_at < timedelta(seconds=10)


def test_activity_is_written_at_most_once_a_minute(client, db):
    finance = FinanceFactory()
    login(client, finance.email)
    row = session_row(db, finance)
    idle_for(db, row, timedelta(seconds=30))
    seen = row.last_seen_at

    client.get("/agencies/")

    db.refresh(row)
    assert row.last_seen_at == seen


def test_resident_sessions_do_not_expire_when_idle(client, db):
    resident = UserFactory()
    login(client, resident.phone)
    row = session_row(db, resident)
    idle_for(db, row, timedelta(hours=2))

    assert client.get("/account/").status_code == 200
    db.refresh(row)
    assert row.ended_at is None


def test_idle_minutes_come_from_the_environment(database_url):
    env = {"PORTAL_ENV": "testing", "DATABASE_URL": database_url}
    assert load_config(env).STAFF_IDLE_MINUTES == 15
    assert load_config({**env, "STAFF_IDLE_MINUTES": "5"}).STAFF_IDLE_MINUTES == 5
    with pytest.raises(ConfigError, match="STAFF_IDLE_MINUTES"):
        load_config({**env, "STAFF_IDLE_MINUTES": "0"})
