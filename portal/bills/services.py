"""Bill lookup for residents, through whichever adapter serves each agency."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agencies.base import AdapterContext, AgencyAdapter, BillQuery, BillView, call_adapter
from portal.agencies.models import Agency
from portal.agencies.registry import adapter_for
from portal.agencies.services import in_display_order
from portal.db import get_session


def lookup_agencies(session: Session) -> list[tuple[Agency, AgencyAdapter]]:
    """Enabled agencies that have an adapter, in the order residents know from their bills."""
    agencies = in_display_order(session.scalars(select(Agency).where(Agency.is_enabled)))
    pairs = [(agency, adapter_for(agency, AdapterContext(session=get_session))) for agency in agencies]
    return [(agency, adapter) for agency, adapter in pairs if adapter is not None]


def find_agency(session: Session, code: str) -> tuple[Agency, AgencyAdapter] | None:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    adapter = adapter_for(agency, AdapterContext(session=get_session)) if agency is not None else None
    return (agency, adapter) if adapter is not None else None


def lookup(adapter: AgencyAdapter, values: dict[str, str]) -> list[BillView]:
    """The agency's bills for checked query values; AgencyUnavailable when it does not answer."""
    return call_adapter(adapter, "lookup", BillQuery(adapter.code, tuple(sorted(values.items()))))
