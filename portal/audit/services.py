"""Record what happened, in the caller's transaction: the event exists exactly when the change does, and
joins the hash chain at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal.audit.chain import HASHED_FIELDS, hash_of
from portal.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from portal.clock import day_bounds
from portal.db import utcnow


def record(session: Session, actor: str, action: str, subject: str, /, **details: object) -> AuditEvent:
    head = session.scalars(
        select(AuditChainHead).with_for_update().execution_options(populate_existing=True)
    ).one()  # held to the commit: a concurrent append waits and then follows this entry
    event = AuditEvent(
        seq=head.last_seq + 1,
        at=utcnow(),
        actor=actor[:64],
        action=action[:60],
        subject=subject[:80],
        details_json=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=head.last_hash,
    )
    event.hash = hash_of(event)
    head.last_seq, head.last_hash = event.seq, event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: int | None
    problem: str


def chain_problems(session: Session, batch: int = 5000) -> Iterator[ChainProblem]:
    """Walks the chain in order and names every entry that was edited, removed or moved. It checks the
    chain as far as the head said when the walk began: entries appended meanwhile by a running portal
    are not mistaken for missing ones."""
    head = session.execute(select(AuditChainHead.last_seq, AuditChainHead.last_hash)).one()
    expected, previous = 1, GENESIS_HASH
    columns = [getattr(AuditEvent, name) for name in ("id", *HASHED_FIELDS, "hash")]
    # Plain rows, read from the table as it is now (not objects this session may hold already).
    rows = session.execute(
        select(*columns)
        .where(AuditEvent.seq <= head.last_seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    for event in rows:
        if event.seq != expected:
            yield ChainProblem(expected, None, f"entries {expected} to {event.seq - 1} are missing")
        elif event.prev_hash != previous:
            yield ChainProblem(
                event.seq, event.id, "does not follow the entry before it (moved, or one removed)"
            )
        if hash_of(event) != event.hash:
            yield ChainProblem(event.seq, event.id, "was changed: its contents do not match its hash")
        expected, previous = event.seq + 1, event.hash
    if (head.last_seq, head.last_hash) != (expected - 1, previous):
        yield ChainProblem(
            expected, None, f"entries after {expected - 1} are missing (the chain ends at {head.last_seq})"
        )
    # An entry past the head as it stands after that entry was read was never appended by record().
    last = session.scalar(select(func.max(AuditEvent.seq)))
    now_ends = session.scalar(select(AuditChainHead.last_seq))
    if last is not None and last > now_ends:
        yield ChainProblem(now_ends + 1, None, f"entries {now_ends + 1} to {last} are not in the chain")


@dataclass(frozen=True)
class AuditFilter:
    """What the admin viewer and its export narrow to; empty fields narrow nothing."""

    actor: str = ""
    action: str = ""
    subject: str = ""
    start: date | None = None
    end: date | None = None

    def describe(self) -> dict[str, str]:
        values = {"actor": self.actor, "action": self.action, "subject": self.subject}
        values |= {"from": self.start and self.start.isoformat(), "to": self.end and self.end.isoformat()}
        return {name: value for name, value in values.items() if value}


def filtered(query: Select, audit_filter: AuditFilter) -> Select:
    if audit_filter.actor:
        query = query.where(AuditEvent.actor == audit_filter.actor)
    if audit_filter.action:
        query = query.where(AuditEvent.action.startswith(audit_filter.action, autoescape=True))
    if audit_filter.subject:
        query = query.where(AuditEvent.subject.contains(audit_filter.subject, autoescape=True))
    if audit_filter.start:
        query = query.where(AuditEvent.at >= day_bounds(audit_filter.start)[0])
    if audit_filter.end:
        query = query.where(AuditEvent.at < day_bounds(audit_filter.end)[1])
    return query


def search(session: Session, audit_filter: AuditFilter, page: int, per_page: int = 50):
    """(events newest first, page, pages)."""
    total = session.scalar(filtered(select(func.count()).select_from(AuditEvent), audit_filter)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    events = session.scalars(
        filtered(select(AuditEvent), audit_filter)
        .order_by(AuditEvent.seq.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return events, page, pages
