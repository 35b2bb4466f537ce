"""Who looked at which analytics page or export, in the audit log: a view of figures about residents
is itself recorded, as every export is."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.analytics.figures import Span
from portal.audit.services import record


def record_view(session: Session, staff: User, page: str, span: Span, kind: str = "page") -> None:
    action = "analytics.viewed" if kind == "page" else "analytics.exported"
    details = {"start": span.start.isoformat(), "end": span.end.isoformat(), "grain": span.grain}
    if kind != "page":
        details["format"] = kind
    record(session, f"user:{staff.id}", action, f"analytics:{page}", **details)


def record_live_view(session: Session, staff: User) -> None:
    record(session, f"user:{staff.id}", "analytics.viewed", "analytics:live")
