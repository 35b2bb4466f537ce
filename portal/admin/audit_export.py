"""The audit log as CSV, through the finance exports' streaming path (COPY on PostgreSQL)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from portal.audit.models import AuditEvent
from portal.audit.services import AuditFilter, filtered
from portal.reports.collections import Column
from portal.sql import shanghai_time, spreadsheet_safe

AUDIT_COLUMNS = (
    Column("seq", _l("Entry"), "text"),
    Column("at", _l("Time (Beijing)"), "text"),
    Column("actor", _l("Who"), "text"),
    Column("action", _l("What"), "text"),
    Column("subject", _l("Object"), "text"),
    Column("details", _l("Details"), "text"),
    Column("hash", _l("Hash"), "text"),
)


def export_query(audit_filter: AuditFilter) -> Select:
    """Oldest first, as the chain runs; every text cell spreadsheet-safe."""
    return filtered(
        select(
            AuditEvent.seq.label("seq"),
            shanghai_time(AuditEvent.at).label("at"),
            spreadsheet_safe(AuditEvent.actor).label("actor"),
            spreadsheet_safe(AuditEvent.action).label("action"),
            spreadsheet_safe(AuditEvent.subject).label("subject"),
            spreadsheet_safe(AuditEvent.details_json).label("details"),
            AuditEvent.hash.label("hash"),
        ),
        audit_filter,
    ).order_by(AuditEvent.seq)
