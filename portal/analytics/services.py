"""Who looked at which analytics page or export, in the audit log: a view of figures about residents
is itself recorded, as every export is."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.analytics.figures import Span
from portal.audit.services import record
from portal.db import start_writing


def _as_writer(session: Session) -> None:
    """A GET reads in a plain transaction, and SQLite cannot turn one into a writer while another
    connection writes ("database is locked" at once, not after a wait). The reading transaction wrote
    nothing, so it ends here and a writing one begins, waiting its turn; the request's commit ends it."""
    session.commit()
    start_writing(session)


def record_view(session: Session, staff: User, page: str, span: Span, kind: str = "page") -> None:
    _as_writer(session)
    action = "analytics.viewed" if kind == "page" else "analytics.exported"
    details = {"start": span.start.isoformat(), "end": span.end.isoformat()}
    if page == "adoption":
        details["grain"] = span.grain
    if kind != "page":
        details["format"] = kind
    record(session, f"user:{staff.id}", action, f"analytics:{page}", **details)


def record_live_view(session: Session, staff: User) -> None:
    _as_writer(session)
    record(session, f"user:{staff.id}", "analytics.viewed", "analytics:live")
