"""Auto-pay's listener to domain events (subscribed in ``portal.wiring``)."""

from __future__ import annotations

from portal import events
from portal.autopay import reminders
from portal.db import Database, utcnow


def batch_loaded(database: Database, event: events.BatchLoaded) -> None:
    """Bills a clerk just loaded may be due soon: remind the agency's saved accounts now, not at the next
    scan (each reminder is keyed by account and bill, so the scan never repeats one). It asks agencies,
    so it runs later, in the worker."""
    reminders.remind(database, utcnow(), agency_id=event.agency_id)
