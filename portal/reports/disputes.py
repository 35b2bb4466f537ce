"""Disputes for finance: how many are open and overdue (the dashboard), and the CSV of the disputes
opened in a period by agency, kind, state and working days to resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.clock import aware, business_day, day_bounds
from portal.db import utcnow
from portal.disputes.calendar import WorkingCalendar
from portal.disputes.labels import KIND_LABELS, OUTCOME_LABELS, STATE_LABELS
from portal.disputes.models import Dispute
from portal.disputes.services import STILL_OPEN
from portal.sql import safe_text


@dataclass(frozen=True)
class DisputeFigures:
    open: int
    overdue: int


def dispute_figures(session: Session) -> DisputeFigures:
    still_open = Dispute.state.in_(STILL_OPEN)
    counted = select(func.count(), func.count().filter(Dispute.due_at < utcnow())).where(still_open)
    total, late = session.execute(counted).one()
    return DisputeFigures(int(total), int(late))


def dispute_rows(session: Session, first: date, last: date, locale: str) -> list[list[str]]:
    """One line per dispute opened from ``first`` to ``last`` (Beijing days), agency then opening."""
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    found = session.execute(
        select(Dispute, Agency.name_zh, Agency.name_en)
        .join(Agency, Agency.id == Dispute.agency_id)
        .where(Dispute.opened_at >= start, Dispute.opened_at < end)
        .order_by(Agency.name_zh, Dispute.opened_at)
    ).all()
    calendar = WorkingCalendar.around(session, first, business_day(utcnow()))
    english = locale.startswith("en")
    header = [
        _("Dispute"),
        _("Agency"),
        _("What went wrong"),
        _("Status"),
        _("Decision"),
        _("Opened (Beijing)"),
        _("Resolved (Beijing)"),
        _("Working days to resolve"),
        _("Overdue"),
    ]
    lines = [header]
    for dispute, name_zh, name_en in found:
        opened = business_day(aware(dispute.opened_at))
        resolved = business_day(aware(dispute.resolved_at)) if dispute.resolved_at else None
        late = dispute.state in STILL_OPEN and dispute.due_at is not None and aware(dispute.due_at) < utcnow()
        lines.append(
            [
                dispute.reference,
                safe_text(name_en if english else name_zh),
                str(KIND_LABELS[dispute.kind]),
                str(STATE_LABELS[dispute.state]),
                str(OUTCOME_LABELS[dispute.outcome]) if dispute.outcome else "",
                opened.isoformat(),
                resolved.isoformat() if resolved else "",
                str(calendar.between(opened, resolved)) if resolved else "",
                _("yes") if late else "",
            ]
        )
    return lines
