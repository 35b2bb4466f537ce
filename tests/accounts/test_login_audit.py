"""Logins, failed logins and staff changes are in the audit log, with no password or identifier in it."""

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from tests.conftest import login, submit
from tests.factories import UserFactory


def test_a_failed_and_a_successful_login_are_audited(client, db):
    user = UserFactory(phone="13900000888")
    before = db.scalar(select(func.max(AuditEvent.seq))) or 0  # other tests may have committed entries

    submit(client, "/account/login", {"identifier": "13900000888", "password": "wrong password 123"})
    submit(client, "/account/login", {"identifier": "13900000999", "password": "wrong password 123"})
    login(client, "13900000888")

    events = db.scalars(select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)).all()
    assert [(e.actor, e.action, e.details_json) for e in events] == [
        (f"user:{user.id}", "login.failed", '{"reason": "wrong password"}'),
        ("anonymous", "login.failed", '{"reason": "unknown account"}'),
        (f"user:{user.id}", "session.started", "{}"),
    ]
    assert not any("13900000" in e.details_json or "wrong" in e.subject for e in events)
