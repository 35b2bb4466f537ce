"""Large batches in the worker (outbox topics batch.check and batch.commit), with progress the batch page
reads while the clerk waits, leaves or comes back."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.batches import services
from portal.batches.applying import commit_now
from portal.batches.checking import check_rows, open_file
from portal.batches.models import Batch, BatchStatus
from portal.db import Database
from portal.errors import PortalError


def check_job(database: Database, payload: dict) -> Callable[[Session], None]:
    batch_id = payload["batch"]
    with database.sessionmaker() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or batch.status is not BatchStatus.CHECKING:
            return _nothing
        try:
            read, positions = open_file(batch.content)
            checked = check_rows(
                session,
                batch.agency,
                read,
                positions,
                progress=_progress(database, batch_id),
                stage_for=batch,
            )
        except PortalError as error:
            message = error.message  # the name `error` is gone once the except block ends
            return lambda s: _failed(s, batch_id, message)
        # The checked rows the commit will apply (PostgreSQL); a retried check replaces them, and those
        # of a batch that ends otherwise are removed with the others (staging.expire_staged).
        session.commit()

    def store(session: Session) -> None:
        batch = session.get(Batch, batch_id, with_for_update=True)
        if batch.status is BatchStatus.CHECKING:
            services.store_check(batch, checked)
            batch.status, batch.progress_rows = BatchStatus.PREVIEWED, checked.rows

    return store


def commit_job(database: Database, payload: dict) -> Callable[[Session], None]:
    batch_id = payload["batch"]
    # No progress while loading: the load holds the batch's row lock until it commits, so a report through
    # another connection (as the check's) would wait for the load, and the load for it, forever. On
    # PostgreSQL the load is a few statements over the rows its check kept; the page shows it running
    # until it is done (as on SQLite, where a load holds the only write lock).
    try:
        with database.write_transaction() as session:
            batch = session.get(Batch, batch_id, with_for_update=True)
            if batch is None or batch.status is not BatchStatus.LOADING:
                return _nothing
            commit_now(session, batch)
    except PortalError as error:  # rolled back: no bill changed; the batch goes back to its preview
        message = error.message
        return lambda s: _back_to_preview(s, batch_id, message)
    return _nothing


def _progress(database: Database, batch_id: int) -> Callable[[int], None]:
    def report(rows: int) -> None:
        with database.write_transaction() as session:
            session.execute(update(Batch).where(Batch.id == batch_id).values(progress_rows=rows))

    return report


def _failed(session: Session, batch_id: int, message: str) -> None:
    session.execute(
        update(Batch).where(Batch.id == batch_id).values(status=BatchStatus.FAILED, job_error=message[:500])
    )


def _back_to_preview(session: Session, batch_id: int, message: str) -> None:
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(status=BatchStatus.PREVIEWED, job_error=message[:500])
    )


def _nothing(_session: Session) -> None:
    return None


HANDLERS = {services.CHECK_TOPIC: check_job, services.COMMIT_TOPIC: commit_job}
