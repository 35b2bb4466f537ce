"""Record what happened, in the caller's transaction: the event exists exactly when the change does."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent


def record(session: Session, actor: str, action: str, subject: str, **details: object) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        subject=subject,
        details_json=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event
