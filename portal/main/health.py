"""Liveness and readiness: /healthz says the process answers, /readyz that it can do its work (the
database answers, its schema is the newest migration, and an outbox worker was seen lately)."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal.db import Database, utcnow
from portal.main.models import WorkerHeartbeat

log = logging.getLogger("portal.health")


@cache
def newest_revision() -> str:
    """The head of migrations/ (read once per process: Alembic loads only here)."""
    from alembic.script import ScriptDirectory

    from portal.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def readiness(session: Session, stale_after_seconds: int) -> dict[str, str]:
    """Each check's answer, "ok" or why not."""
    try:
        applied = session.scalar(text("SELECT version_num FROM alembic_version"))
        seen = session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    except SQLAlchemyError as error:
        log.warning("readiness: database unavailable: %s", type(error).__name__)
        session.rollback()
        return {"database": "unavailable", "schema": "unknown", "worker": "unknown"}
    head = newest_revision()
    schema = "ok" if applied == head else f"at {applied}, newest is {head}: run flask db upgrade"
    if seen is None:
        worker = "no outbox worker has run"
    elif utcnow() - seen > timedelta(seconds=stale_after_seconds):
        worker = f"no outbox worker seen for {int((utcnow() - seen).total_seconds())} s"
    else:
        worker = "ok"
    return {"database": "ok", "schema": schema, "worker": worker}


def beat(database: Database, name: str) -> None:
    """Record that this worker is alive (its own row, so no two workers write the same one)."""
    now = utcnow()
    with database.write_transaction() as session:
        found = session.execute(
            update(WorkerHeartbeat).where(WorkerHeartbeat.name == name).values(seen_at=now)
        ).rowcount
        if not found:
            session.add(WorkerHeartbeat(name=name, started_at=now, seen_at=now))


def forget(database: Database, name: str) -> None:
    """A worker that stops cleanly leaves no heartbeat behind."""
    try:
        with database.write_transaction() as session:
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))
    except SQLAlchemyError:
        log.warning("worker %s stopped, but its heartbeat could not be removed", name)
