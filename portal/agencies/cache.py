"""Agency rows for the resident lookup page, read once per process every few seconds instead of once per
request.

The lookup page (`/bills/<code>`) only reads an agency's code, names, category and whether it is enabled.
Each process keeps those per code for at most AGENCY_CACHE_SECONDS. A change made through the ORM in
this process (an Agency row added, changed or deleted) clears this process's copies at once, and again
when its transaction commits or rolls back (so a copy read in between cannot outlive it); another
process sees it within AGENCY_CACHE_SECONDS. Paths that move money or save accounts (checkout, saved
accounts, the worker's scans) keep reading the row itself (portal.bills.services.find_agency), so an
agency that is disabled cannot be paid from the moment it is committed; its lookup page stops within
the bound, and the local adapter shows no bills of a disabled agency even before that.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency, AgencyCategory

AGENCY_CACHE_SECONDS = 2.0
_CHANGED = "portal.agencies_changed"
_generation = itertools.count(1)
_current = [next(_generation)]  # bumped whenever an Agency row changes in this process


@dataclass(frozen=True)
class AgencySnapshot:
    """What the lookup page shows of an agency (the same attribute names as the Agency row)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    category: AgencyCategory
    is_enabled: bool

    def name_for(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


_COLUMNS = (Agency.id, Agency.code, Agency.name_zh, Agency.name_en, Agency.category, Agency.is_enabled)


class AgencyCache:
    """Per-process snapshots of agency rows by code; agencies that do not exist are not remembered."""

    def __init__(self, seconds: float = AGENCY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, int, AgencySnapshot]] = {}

    def get(self, session: Callable[[], Session], code: str) -> AgencySnapshot | None:
        """The agency's snapshot; ``session`` (the request's session factory) is called only on a miss."""
        now, generation = self.clock(), _current[0]
        entry = self._entries.get(code)
        if entry is not None and entry[0] > now and entry[1] == generation:
            return entry[2]
        row = session().execute(select(*_COLUMNS).where(Agency.code == code)).first()
        if row is None:
            self._entries.pop(code, None)
            return None
        snapshot = AgencySnapshot(*row)
        self._entries[code] = (now + self.seconds, generation, snapshot)
        return snapshot

    def clear(self) -> None:
        self._entries.clear()


def changed() -> None:
    """Forget every process-local snapshot (an Agency row changed in this process)."""
    _current[0] = next(_generation)


def _mark(connection: Connection) -> None:
    # Forget now, and again when the change is committed or rolled back on the connection that holds it
    # (the request's commit point, a worker's `with session.begin()`, a test undoing its transaction).
    connection.info[_CHANGED] = True
    changed()


@event.listens_for(Agency, "after_insert")
@event.listens_for(Agency, "after_update")
@event.listens_for(Agency, "after_delete")
def _row_written(_mapper, connection: Connection, _agency: Agency) -> None:
    _mark(connection)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    # update(Agency) / delete(Agency) through a session bypass the flush.
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is Agency:
        _mark(state.session.connection())


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(connection: Connection) -> None:
    if connection.info.pop(_CHANGED, False):
        changed()


@event.listens_for(Engine, "rollback_savepoint")
def _savepoint_rolled_back(connection: Connection, _name, _context) -> None:
    if connection.info.get(_CHANGED):
        changed()
