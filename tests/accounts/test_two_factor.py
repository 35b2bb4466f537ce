"""Two-factor login: mandatory enrolment for staff, codes that cannot be guessed or replayed, recovery
codes that work once, an administrator's reset, and residents switching it on and off."""

import re
import time
from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import select

from portal.accounts import twofactor
from portal.accounts.models import LoginSession, RecoveryCode, User
from portal.audit.models import AuditEvent
from portal.errors import ValidationFailed
from tests.conftest import login, logout, submit, totp_code
from tests.factories import (
    DEFAULT_PASSWORD,
    TOTP_SECRET,
    AdminFactory,
    ClerkFactory,
    FinanceFactory,
    UserFactory,
)

ENGLISH = {"Cookie": "portal_lang=en"}
RECOVERY_CODE = re.compile(r"<code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code>")


def password_step(client, identifier, password=DEFAULT_PASSWORD):
    client.get("/language/en")
    return submit(client, "/account/login", {"identifier": identifier, "password": password})


def wrong_code(secret: str = TOTP_SECRET) -> str:
    """Six digits that are not the authenticator's code for any step near now."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time())
    near = {totp.generate_otp(step) for step in range(now - 3, now + 4)}
    return next(code for code in ("000000", "111111", "123456", "987654", "246813") if code not in near)


def events(db, action: str, user: User) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject == f"user:{user.id}")
        )
    )


def secret(app, user: User) -> str | None:
    """The stored secret, decrypted with the app's keys (it is kept only encrypted)."""
    with app.app_context():
        return user.totp_secret


def signing_in_offers_login(page: str) -> bool:
    """The navigation's visitor links, which the pages between the two login steps leave out."""
    return 'href="/account/login"' in page or 'href="/account/register"' in page


def signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


def test_staff_without_two_factor_must_enrol_before_reaching_any_page(app, client, db):
    clerk = ClerkFactory(totp_secret=None, totp_enabled_at=None)

    response = password_step(client, clerk.email)

    assert response.headers["Location"] == "/account/two-factor/setup"
    assert not signed_in(client)
    assert client.get(f"/agencies/{clerk.agency.code}/").status_code == 302
    page = client.get("/account/two-factor/setup").get_data(as_text=True)
    db.refresh(clerk)
    assert secret(app, clerk) and clerk.totp_enabled_at is None
    assert '<svg role="img"' in page and "QR code for your authenticator app" in page
    assert " ".join(secret(app, clerk)[i : i + 4] for i in range(0, 32, 4)) in page  # the key as text
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert not signing_in_offers_login(page)

    refused = submit(client, "/account/two-factor/setup", {"code": wrong_code(secret(app, clerk))})
    assert refused.status_code == 200 and 'id="code-error"' in refused.get_data(as_text=True)
    assert not signed_in(client)
    [failed] = events(db, "two_factor.failed", clerk)
    assert '"method": "setup"' in failed.details_json

    shown = submit(client, "/account/two-factor/setup", {"code": pyotp.TOTP(secret(app, clerk)).now()})

    codes = RECOVERY_CODE.findall(shown.get_data(as_text=True))
    assert shown.status_code == 200 and len(codes) == 10
    db.refresh(clerk)
    assert clerk.two_factor_enrolled
    stored = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == clerk.id)).all()
    assert len(stored) == 10 and not {code.replace("-", "") for code in codes} & set(stored)
    assert client.get(f"/agencies/{clerk.agency.code}/").status_code == 200
    assert len(events(db, "two_factor.enrolled", clerk)) == 1
    assert clerk.last_login_at is not None  # enrolling completed this login


def test_a_second_login_before_enrolling_shows_the_same_secret(client, db, app):
    finance = FinanceFactory(totp_secret=None, totp_enabled_at=None)
    password_step(client, finance.email)
    db.refresh(finance)
    first = secret(app, finance)

    password_step(app.test_client(), finance.email)

    db.refresh(finance)
    assert secret(app, finance) == first


def test_wrong_code_is_refused_with_a_message_counted_and_audited(client, db):
    finance = FinanceFactory()
    assert password_step(client, finance.email).headers["Location"] == "/account/two-factor"

    response = submit(client, "/account/two-factor", {"code": wrong_code()})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The code is not correct, or it has expired" in html and 'href="#code"' in html
    assert not signing_in_offers_login(html)
    assert not signing_in_offers_login(client.get("/account/two-factor/recovery").get_data(as_text=True))
    assert signing_in_offers_login(client.get("/").get_data(as_text=True))  # still not logged in
    assert not signed_in(client)
    db.refresh(finance)
    assert finance.failed_login_count == 1
    assert len(events(db, "two_factor.failed", finance)) == 1

    password_step(client, finance.email)  # a right password does not wipe out the failed code
    db.refresh(finance)
    assert finance.failed_login_count == 1


def test_repeated_wrong_codes_lock_the_account(client, db, app):
    admin = AdminFactory()
    password_step(client, admin.email)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert submit(client, "/account/two-factor", {"code": wrong_code()}).status_code == 200

    last = submit(client, "/account/two-factor", {"code": wrong_code()})

    assert last.status_code == 302 and last.headers["Location"] == "/account/login"
    db.refresh(admin)
    assert admin.locked_until is not None
    again = password_step(client, admin.email)
    assert again.status_code == 200 and "temporarily locked" in again.get_data(as_text=True)


def test_a_code_used_once_cannot_be_replayed(client, db):
    finance = FinanceFactory()
    code = pyotp.TOTP(TOTP_SECRET).now()
    password_step(client, finance.email)
    assert submit(client, "/account/two-factor", {"code": code}).status_code == 302
    logout(client)

    password_step(client, finance.email)
    replayed = submit(client, "/account/two-factor", {"code": code})

    assert replayed.status_code == 200
    assert "This code has been used already" in replayed.get_data(as_text=True)
    assert not signed_in(client)


def test_codes_of_the_neighbouring_steps_are_accepted_and_never_twice(app, db):
    finance = FinanceFactory()
    totp = pyotp.TOTP(TOTP_SECRET)
    now = time.time()
    step = totp.timecode(now)
    with app.test_request_context(headers=ENGLISH):
        at = datetime.fromtimestamp(now, UTC)
        twofactor.verify_code(db, finance, totp.generate_otp(step - 1), now=at)
        twofactor.verify_code(db, finance, totp.generate_otp(step + 1), now=at)
        for stale in (step - 1, step, step + 1):
            with pytest.raises(ValidationFailed, match="used already"):
                twofactor.verify_code(
                    db, finance, totp.generate_otp(stale), now=datetime.fromtimestamp(now, UTC)
                )


def test_recovery_code_works_once(client, db, app):
    clerk = ClerkFactory()
    with app.test_request_context(headers=ENGLISH):
        codes = twofactor.renew_recovery_codes(db, clerk, DEFAULT_PASSWORD)
    db.flush()  # the requests below append to the audit chain after this event
    assert password_step(client, clerk.email).headers["Location"] == "/account/two-factor"

    typed = codes[0].upper().replace("-", " ")  # case, spaces and dashes do not matter
    response = submit(client, "/account/two-factor/recovery", {"recovery_code": typed})

    assert response.status_code == 302 and signed_in(client)
    used = events(db, "two_factor.recovery_code_used", clerk)
    assert len(used) == 1 and '"remaining": 9' in used[0].details_json
    logout(client)
    password_step(client, clerk.email)
    again = submit(client, "/account/two-factor/recovery", {"recovery_code": codes[0]})
    assert again.status_code == 200 and "has been used already" in again.get_data(as_text=True)
    assert not signed_in(client)
    assert submit(client, "/account/two-factor/recovery", {"recovery_code": codes[1]}).status_code == 302


def test_admin_reset_ends_sessions_and_forces_re_enrolment(client, db, app):
    clerk = ClerkFactory()
    with app.test_request_context(headers=ENGLISH):
        twofactor.renew_recovery_codes(db, clerk, DEFAULT_PASSWORD)
    db.flush()  # the requests below append to the audit chain after this event
    clerk_browser = app.test_client()
    login(clerk_browser, clerk.email)
    admin = AdminFactory()
    login(client, admin.email)

    path = f"/admin/staff/{clerk.id}/two-factor/reset"
    asked = submit(client, path, {}, page=f"/admin/staff/{clerk.id}")
    db.refresh(clerk)
    assert asked.status_code == 200 and clerk.two_factor_enrolled  # asked once more, nothing done yet
    response = submit(client, path, {"confirmed": "yes"}, page=f"/admin/staff/{clerk.id}")
    again = submit(client, path, {"confirmed": "yes"}, page=f"/admin/staff/{clerk.id}")  # sent twice

    assert response.status_code == 302 and again.status_code == 302
    db.refresh(clerk)
    assert secret(app, clerk) is None and not clerk.two_factor_enrolled
    assert db.scalar(select(RecoveryCode).where(RecoveryCode.user_id == clerk.id)) is None
    assert not signed_in(clerk_browser)
    assert (
        db.scalar(
            select(LoginSession).where(LoginSession.user_id == clerk.id, LoginSession.ended_at.is_(None))
        )
        is None
    )
    reset = events(db, "two_factor.reset", clerk)
    assert len(reset) == 1 and reset[0].actor == f"user:{admin.id}"
    assert password_step(clerk_browser, clerk.email).headers["Location"] == "/account/two-factor/setup"


def test_admin_cannot_reset_own_two_factor_or_a_residents(client, db):
    admin = AdminFactory()
    resident = UserFactory()
    login(client, admin.email)

    confirmed = {"confirmed": "yes"}
    submit(client, f"/admin/staff/{admin.id}/two-factor/reset", confirmed, page="/admin/staff")
    missing = submit(client, f"/admin/staff/{resident.id}/two-factor/reset", confirmed, page="/admin/staff")

    db.refresh(admin)
    assert admin.two_factor_enrolled
    assert missing.status_code == 404


def test_cli_resets_two_factor(runner, db):
    clerk = ClerkFactory()

    result = runner.invoke(args=["users", "reset-two-factor", "--email", clerk.email])

    assert result.exit_code == 0, result.output
    db.refresh(clerk)
    assert not clerk.two_factor_enrolled
    assert events(db, "two_factor.reset", clerk)[0].actor == "cli"


def test_resident_turns_two_factor_on_and_off_with_the_password(app, client, db):
    resident = UserFactory(phone="13700000101")
    login(client, resident.phone)
    client.get("/language/en")
    assert "Turn on two-factor authentication" in client.get("/account/").get_data(as_text=True)

    wrong = submit(client, "/account/two-factor/enable", {"password": "not my password"})
    assert wrong.status_code == 200 and 'id="password-error"' in wrong.get_data(as_text=True)
    assert submit(client, "/account/two-factor/enable", {"password": DEFAULT_PASSWORD}).headers[
        "Location"
    ] == ("/account/two-factor/setup")
    db.refresh(resident)
    shown = submit(
        client, "/account/two-factor/setup", {"code": totp_code(secret(app, resident), resident.phone)}
    )
    assert len(RECOVERY_CODE.findall(shown.get_data(as_text=True))) == 10
    logout(client)

    assert password_step(client, resident.phone).headers["Location"] == "/account/two-factor"
    submit(client, "/account/two-factor", {"code": totp_code(secret(app, resident), resident.phone)})
    assert signed_in(client)

    off = submit(client, "/account/two-factor/disable", {"password": DEFAULT_PASSWORD})
    assert off.headers["Location"] == "/account/"
    db.refresh(resident)
    assert secret(app, resident) is None and not resident.two_factor_enrolled
    assert len(events(db, "two_factor.disabled", resident)) == 1
    logout(client)
    assert password_step(client, resident.phone).headers["Location"] == "/account/"


def test_residents_without_two_factor_log_in_with_the_password_alone(client, db):
    UserFactory(phone="13700000102")

    assert password_step(client, "13700000102").headers["Location"] == "/account/"


def test_staff_cannot_turn_two_factor_off(client, db, app):
    finance = FinanceFactory()
    login(client, finance.email)
    client.get("/language/en")

    assert client.get("/account/two-factor/disable").headers["Location"] == "/account/"
    assert "Staff accounts cannot turn it off" in client.get("/account/").get_data(as_text=True)
    with app.test_request_context(headers=ENGLISH), pytest.raises(ValidationFailed, match="mandatory"):
        twofactor.disable(db, finance, DEFAULT_PASSWORD)
    db.refresh(finance)
    assert finance.two_factor_enrolled


def test_the_second_step_expires(client, db):
    finance = FinanceFactory()
    password_step(client, finance.email)
    with client.session_transaction() as session:
        pending = session["second_step"]
        pending["since"] -= 601
        session["second_step"] = pending

    response = client.get("/account/two-factor")

    assert response.status_code == 302 and response.headers["Location"] == "/account/login"
    assert client.get("/account/two-factor/recovery").headers["Location"] == "/account/login"


def test_demo_staff_set_up_two_factor_at_their_first_login(runner, client, db):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output

    response = password_step(client, "clerk@water.demo.gov.cn", "demo-clerk-2026")

    assert response.headers["Location"] == "/account/two-factor/setup"
    assert "two-factor" in result.output
