"""Queries about agencies that several pages share."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import Role, User
from portal.agencies.models import Agency


def enabled_agencies(session: Session) -> list[Agency]:
    return list(
        session.scalars(select(Agency).where(Agency.is_enabled).order_by(Agency.category, Agency.code))
    )


def all_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.category, Agency.code)))


def clerk_count(session: Session, agency: Agency) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.agency_id == agency.id, User.role == Role.CLERK)
        )
        or 0
    )
