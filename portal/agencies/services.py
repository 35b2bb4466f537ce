"""Queries about agencies that several pages share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency, AgencyCategory

_CATEGORY_ORDER = list(AgencyCategory)


def in_display_order(agencies) -> list[Agency]:
    """Water, electricity, gas, traffic, tax: the order residents know from their bills."""
    return sorted(agencies, key=lambda agency: (_CATEGORY_ORDER.index(agency.category), agency.code))


def enabled_agencies(session: Session) -> list[Agency]:
    return in_display_order(session.scalars(select(Agency).where(Agency.is_enabled)))


def all_agencies(session: Session) -> list[Agency]:
    return in_display_order(session.scalars(select(Agency)))
