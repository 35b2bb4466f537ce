"""What the readiness check reads: each outbox worker's heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow


class WorkerHeartbeat(Base):
    """One row per running worker (host:pid), written every few seconds and removed on a clean stop; a
    killed worker's row simply goes stale."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
