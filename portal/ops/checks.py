"""What a restored database must prove before anyone trusts it: the checks of `flask wallet verify` and
`flask audit verify`, run on the restored database rather than the app's own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.audit.services import ChainProblem, chain_problems
from portal.db import Database
from portal.wallet.verify import ledger_violations


@dataclass(frozen=True)
class Verdict:
    revision: str | None  # the Alembic revision the restored schema is at
    ledger_violations: list[str]
    audit_problems: list[ChainProblem]
    audit_entries: int

    @property
    def is_clean(self) -> bool:
        return not self.ledger_violations and not self.audit_problems


def verify_database(database_url: str) -> Verdict:
    """Run the ledger and audit-chain checks on the database at ``database_url``."""
    database = Database(database_url)
    try:
        with database.sessionmaker() as session:
            return Verdict(
                revision=_revision(session),
                ledger_violations=ledger_violations(session),
                audit_problems=list(chain_problems(session)),
                audit_entries=session.scalar(select(func.count()).select_from(AuditEvent)),
            )
    finally:
        database.dispose()


def _revision(session: Session) -> str | None:
    if not inspect(session.connection()).has_table("alembic_version"):
        return None  # not a portal database, or one made before migrations
    return session.scalar(text("SELECT version_num FROM alembic_version"))
