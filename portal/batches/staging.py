"""A preview's checked rows kept in bill_batch_rows (PostgreSQL, by COPY) for its commit, and their expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from portal.batches.models import Batch, BatchRow, BatchStatus
from portal.batches.rows import BillRow
from portal.db import utcnow

STAGED_FOR = timedelta(days=7)  # a previewed batch's checked rows are kept this long for its commit
STAGED_COLUMNS = ("batch_id", *BillRow._fields)
STAGE_COPY = f"COPY bill_batch_rows ({', '.join(STAGED_COLUMNS)}) FROM STDIN (FORMAT binary)"
STAGED_TYPES = ("int8", "int8", "text", "text", "text", "int8", "int8", "date", "text", "text")


def stages(session: Session) -> bool:
    """Whether previews keep their checked rows for the commit (PostgreSQL, whose COPY fills them).
    Callers look it up on this module (``staging.stages``), so one switch decides for all of them."""
    return session.get_bind().dialect.name == "postgresql"


def stage(session: Session, batch: Batch, rows: list[BillRow]) -> None:
    """Append a chunk's valid rows to bill_batch_rows with COPY (binary: nothing to quote or parse),
    inside the session's transaction."""
    if not rows:
        return
    batch_id = batch.id
    driver = session.connection().connection.driver_connection  # psycopg's, in this transaction
    with driver.cursor() as cursor, cursor.copy(STAGE_COPY) as copy:
        copy.set_types(STAGED_TYPES)
        for row in rows:
            copy.write_row((batch_id, *row))


def expire_staged(session: Session) -> None:
    """Remove the kept rows of batches that can no longer be committed, and of previews older than
    STAGED_FOR (those are read from their file again if committed after all). Batches being committed
    now hold their lock and are skipped."""
    done = Batch.status.not_in((BatchStatus.CHECKING, BatchStatus.PREVIEWED, BatchStatus.LOADING))
    old = and_(Batch.status == BatchStatus.PREVIEWED, Batch.created_at < utcnow() - STAGED_FOR)
    ids = session.scalars(
        select(Batch.id)
        .where(Batch.id.in_(select(BatchRow.batch_id).distinct()), or_(done, old))
        .with_for_update(skip_locked=True)
    ).all()
    if ids:
        session.execute(delete(BatchRow).where(BatchRow.batch_id.in_(ids)))
