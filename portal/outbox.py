"""The transactional outbox: messages written with the change that causes them, delivered by workers.

Delivery is at least once: a worker claims due messages for a lease (SKIP LOCKED on PostgreSQL, so
several workers share the queue), acts outside any transaction (agencies dedupe by payment id), then
records the outcome and marks the message delivered in one transaction. Failures back off
exponentially; a message still failing when its window closes (3 days by default) turns dead and shows
on the operations page for a manual resend.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Index, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import Base, Database, database_away, string_enum, utcnow
from portal.sql import dialect_insert
from portal.web import bound_request_id, current_request_id


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the retry window; an operator may resend it


class OutboxMessage(Base):
    """Work that must follow a commit (telling an agency, rendering a receipt), written in the same
    transaction as the change that causes it and carried out by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload_json: Mapped[str] = mapped_column(Text)
    state: Mapped[OutboxState] = mapped_column(
        string_enum(OutboxState, "outbox_state"), default=OutboxState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    give_up_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


MAX_BACKOFF = timedelta(hours=6)
log = logging.getLogger("portal.outbox")

# A handler does its work outside any transaction and returns what to record in the transaction that
# marks the message delivered; it raises to have the message tried again later.
Handler = Callable[[Database, dict], Callable[[Session], None]]
# The payload key that carries the id of the request that queued a message; deliver() takes it out, so
# handlers see the payload as queued and the worker's log lines carry that request's id.
REQUEST_ID_KEY = "request_id"


OUTBOX = OutboxMessage.__table__


def enqueue(session: Session, topic: str, dedupe_key: str, payload: dict) -> int:
    """Queue a message once per dedupe key, in the caller's transaction; returns its id (the first
    message's, when the key was queued before). One statement: the insert that finds the key taken
    does nothing (a concurrent one waits for the first transaction, then does nothing)."""
    request_id = current_request_id()
    if request_id is not None:
        payload = {**payload, REQUEST_ID_KEY: request_id}
    now = utcnow()
    values = {
        "topic": topic,
        "dedupe_key": dedupe_key,
        "payload_json": json.dumps(payload, sort_keys=True),
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "give_up_at": now + timedelta(seconds=current_app.config["OUTBOX_GIVE_UP_SECONDS"]),
        "last_error": "",
        "created_at": now,
    }
    insert = dialect_insert(session)
    statement = insert(OUTBOX).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    new_id = session.execute(statement.returning(OUTBOX.c.id)).scalar()
    if new_id is not None:
        return new_id
    return session.scalar(select(OUTBOX.c.id).where(OUTBOX.c.dedupe_key == dedupe_key))


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """30 s, 1 min, 2 min, ... up to 6 hours, with 10% jitter so retries of one outage spread out."""
    delay = min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return delay * random.uniform(0.9, 1.1)  # noqa: S311 - spreads retries, not a secret  # nosec B311


def claim(database: Database, limit: int, due_by: datetime | None = None) -> list[int]:
    """Ids of messages due by ``due_by`` (default: now) that this worker now holds for its lease
    (OUTBOX_LEASE_SECONDS, longer than any handler takes); other workers skip them."""
    now = utcnow()
    due_by = due_by or now
    with database.write_transaction() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= due_by)
                .where(or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(locked_until=now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"]))
            )
    return ids


def deliver(database: Database, message_id: int, handlers: dict[str, Handler]) -> bool:
    """Carry out one claimed message; True when it was delivered."""
    with database.sessionmaker() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.state is not OutboxState.PENDING:
            return False
        topic, payload = message.topic, json.loads(message.payload_json)
    with bound_request_id(payload.pop(REQUEST_ID_KEY, None)):
        return _carry_out(database, message_id, topic, payload, handlers)


def _carry_out(
    database: Database, message_id: int, topic: str, payload: dict, handlers: dict[str, Handler]
) -> bool:
    try:
        outcome = handlers[topic](database, payload)
    except Exception as error:  # any failure is retried later; the message keeps its place
        log.warning("outbox message %s (%s) failed: %s", message_id, topic, error)
        _record_failure(database, message_id, f"{type(error).__name__}: {error}")
        return False
    try:
        with database.write_transaction() as session:
            outcome(session)
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(state=OutboxState.DELIVERED, delivered_at=utcnow(), locked_until=None, last_error="")
            )
    except Exception as error:  # recording the outcome failed: retried later, never a dead worker
        if database_away(error):  # a restart or a dropped line: expected now and then
            log.warning("outbox message %s (%s): database away while recording; retried", message_id, topic)
        else:
            log.exception("outbox message %s (%s): recording the outcome failed", message_id, topic)
        _record_failure(database, message_id, f"{type(error).__name__}: {error}")
        return False
    return True


def _record_failure(database: Database, message_id: int, error: str) -> None:
    base = current_app.config["OUTBOX_BACKOFF_BASE_SECONDS"]
    with database.write_transaction() as session:
        message = session.get(OutboxMessage, message_id)
        now = utcnow()
        message.attempts += 1
        message.last_error = error[:500]
        message.locked_until = None
        message.next_attempt_at = now + backoff(message.attempts, base)
        if message.next_attempt_at > message.give_up_at:
            message.state = OutboxState.DEAD
            log.error(
                "outbox message %s (%s) gave up after %s attempts",
                message_id,
                message.topic,
                message.attempts,
            )


def run(
    database: Database,
    handlers: dict[str, Handler],
    *,
    once: bool = False,
    batch: int = 20,
    stop: threading.Event | None = None,
) -> int:
    """Deliver due messages until stopped (or, with once, until none is due); returns how many. When
    ``stop`` is set the message in hand is finished and the rest of the batch handed back at once."""
    delivered = 0
    started = utcnow()
    stop = stop or threading.Event()
    while not stop.is_set():
        # With once, only messages due when the run began: a retry due again at once is left for later.
        ids = claim(database, batch, started if once else None)
        for position, message_id in enumerate(ids):
            if stop.is_set():
                release(database, ids[position:])
                break
            delivered += deliver(database, message_id, handlers)
        if not ids:
            if once:
                return delivered
            stop.wait(current_app.config["OUTBOX_POLL_SECONDS"])
    return delivered


def release(database: Database, message_ids: list[int]) -> None:
    """Hand claimed messages back before their lease runs out, so another worker takes them now."""
    with database.write_transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.state == OutboxState.PENDING)
            .values(locked_until=None)
        )


def dead_messages(session: Session) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.state == OutboxState.DEAD).order_by(OutboxMessage.id)
        )
    )


def resend(session: Session, message_id: int) -> OutboxMessage | None:
    """An operator's manual resend of a dead message: a fresh retry window from now."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.state is not OutboxState.DEAD:
        return None
    now = utcnow()
    message.state = OutboxState.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    message.give_up_at = now + timedelta(seconds=current_app.config["OUTBOX_GIVE_UP_SECONDS"])
    return message
