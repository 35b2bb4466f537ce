"""Adapters in the portal's own process read through get_session() (the request's session). The
worker has no request: while it works, its unit's session stands in for the request's, so a lookup
reads in the same transaction as the work and no session is left open between units."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from sqlalchemy.orm import Session


@contextmanager
def acting_session(session: Session) -> Iterator[Session]:
    previous = g.pop("db_session", None)
    g.db_session = session
    try:
        yield session
    finally:
        g.pop("db_session", None)
        if previous is not None:
            g.db_session = previous
