"""Which agency a staff member may see: a clerk their own, finance and admins any."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.authz import Role


def agency_in_scope(db: Session, user, agency_code: str) -> Agency:
    """The agency if this staff member may see it; 404 otherwise, so other agencies stay invisible."""
    agency = db.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        abort(404)
    if user.role is Role.CLERK and user.agency_id != agency.id:
        abort(404)
    if user.role not in (Role.CLERK, Role.FINANCE, Role.ADMIN):
        abort(404)
    return agency
