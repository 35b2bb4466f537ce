"""Session fixation and use after logout: the cookie changes at login, a cookie planted or copied before
then gets nothing, and a cookie copied before logout is worthless after it."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import LoginSession
from tests import factories
from tests.conftest import login, logout, submit, totp_code


def _cookie(world, client) -> str | None:
    cookie = client.get_cookie(world.cookie_name)
    return cookie.value if cookie else None


def _browser_with(world, cookie: str):
    """Another browser holding a copy of a cookie (an attacker's)."""
    other = world.client()
    other.set_cookie(world.cookie_name, cookie)
    return other


def _is_login_page(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/account/login")


def test_a_cookie_planted_before_login_is_not_logged_in_by_it(world, db):
    user = factories.UserFactory(phone="13911119001")
    victim = world.client()
    victim.get("/account/login")
    planted = _cookie(world, victim)

    login(victim, user.phone)

    assert planted and _cookie(world, victim) != planted
    assert victim.get("/account/").status_code == 200
    assert _is_login_page(_browser_with(world, planted).get("/account/"))


def test_a_staff_cookie_from_between_the_two_steps_is_not_logged_in_by_the_second(world, db):
    member = factories.FinanceFactory(email="fixation@city.example.cn")
    victim = world.client()
    step = submit(
        victim, "/account/login", {"identifier": member.email, "password": factories.DEFAULT_PASSWORD}
    )
    assert step.headers["Location"] == "/account/two-factor"
    between = _cookie(world, victim)

    done = submit(victim, "/account/two-factor", {"code": totp_code(factories.TOTP_SECRET, member.email)})

    assert done.status_code == 302 and _cookie(world, victim) != between
    assert victim.get("/reports/").status_code == 200
    copy = _browser_with(world, between)
    assert _is_login_page(copy.get("/reports/"))
    assert _is_login_page(copy.get("/account/"))


def test_a_cookie_copied_before_logout_is_worthless_after_it(world, db):
    user = factories.UserFactory(phone="13911119002")
    victim = world.client()
    login(victim, user.phone)
    copied = _cookie(world, victim)
    assert _browser_with(world, copied).get("/account/").status_code == 200  # a copy works while logged in

    assert logout(victim).status_code == 302

    row = db.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert row.ended_at is not None
    assert _is_login_page(victim.get("/account/"))
    assert _is_login_page(_browser_with(world, copied).get("/account/"))
    assert _is_login_page(_browser_with(world, copied).get("/wallet/"))


def test_a_staff_cookie_copied_before_logout_is_worthless_after_it(world, db):
    member = factories.AdminFactory(email="logout@city.example.cn")
    admin = world.client()
    login(admin, member.email)
    copied = _cookie(world, admin)
    assert _browser_with(world, copied).get("/admin/staff").status_code == 200

    logout(admin)

    assert _is_login_page(_browser_with(world, copied).get("/admin/staff"))


def test_a_password_change_ends_the_other_browsers_sessions(world, db):
    user = factories.UserFactory(phone="13911119003")
    first, second = world.client(), world.client()
    login(first, user.phone)
    login(second, user.phone)
    new = "a different horse battery staple"

    changed = submit(
        first,
        "/account/password",
        {"current_password": factories.DEFAULT_PASSWORD, "password": new, "confirm": new},
    )

    assert changed.status_code == 302
    assert first.get("/account/").status_code == 200
    assert _is_login_page(second.get("/account/"))
