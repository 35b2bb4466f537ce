"""The check of a whole batch file, a chunk at a time: quick checks first, then every row."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.batches import staging
from portal.batches.checked import Checked
from portal.batches.comparing import compare, compare_staged
from portal.batches.models import Batch, BatchRow
from portal.batches.reading import ReadFile, read_upload
from portal.batches.rows import CHUNK, BillRow, RowError, map_header, row_checker
from portal.errors import ValidationFailed

# Called with each chunk's new rows and (bill id, row) changes, when a commit applies them.
Apply = Callable[[list[BillRow], list[tuple[int, BillRow]]], None]


# Told how many rows were checked so far, after each chunk (the page shows it for background batches).
Progress = Callable[[int], None]


def open_file(content: bytes) -> tuple[ReadFile, dict[str, int]]:
    """The quick checks, done while the clerk waits: what the file is, its encoding, its header."""
    if len(content) > current_app.config["BATCH_MAX_BYTES"]:
        raise ValidationFailed(_("The file is larger than the size limit."), field="file")
    read = read_upload(content, max_uncompressed=current_app.config["BATCH_MAX_UNCOMPRESSED_BYTES"])
    positions, problems = map_header(read.header)
    if problems:
        raise ValidationFailed(" ".join(problems), field="file")
    return read, positions


def check_rows(
    session: Session,
    agency: Agency,
    read: ReadFile,
    positions: dict[str, int],
    apply: Apply | None = None,
    progress: Progress | None = None,
    stage_for: Batch | None = None,
) -> Checked:
    """Check every row a chunk at a time; memory stays bounded by the chunk, whatever the file's length.

    On PostgreSQL, given ``stage_for`` (a preview), the valid rows are written to bill_batch_rows by
    COPY and compared with the agency's bills in one statement at the end; the commit then applies
    them in SQL. Otherwise each chunk is compared with the agency's bills as it is read (and applied,
    when committing). Either way the counts, errors, changes and samples are the same."""
    limit = current_app.config["BATCH_MAX_ROWS"]
    checked = Checked()
    seen: dict[str, int] = {}
    count = 0
    bill_column = read.header[positions["bill_no"]]
    check = row_checker(positions, read.header)
    staged = stage_for is not None and apply is None and staging.stages(session)
    if staged:
        session.execute(delete(BatchRow).where(BatchRow.batch_id == stage_for.id))  # a retried check
    for chunk in _chunks(read.rows):
        count += len(chunk)
        if count > limit:
            raise ValidationFailed(
                _("The file has more than %(rows)d rows. Split it up.", rows=limit), field="file"
            )
        rows = []
        for line, cells in chunk:
            result = check(line, cells)
            if isinstance(result, list):
                checked.add_errors(result)
            elif result.bill_no in seen:
                first = seen[result.bill_no]
                message = _("Bill number %(bill)s is also on line %(line)d.", bill=result.bill_no, line=first)
                checked.add_errors([RowError(line, bill_column, message)])
            else:
                seen[result.bill_no] = line
                rows.append(result)
        if staged:
            staging.stage(session, stage_for, rows)
        else:
            new, changed = compare(session, agency, rows, checked, bill_column)
            if apply is not None and not checked.invalid:
                apply(new, changed)
        if progress is not None:
            progress(count)
    if count == 0:
        raise ValidationFailed(_("The file has a header but no bills."), field="file")
    if staged:
        compare_staged(session, agency, stage_for, len(seen), checked, bill_column)
        if checked.invalid:  # such a batch cannot be committed: nothing to keep
            session.execute(delete(BatchRow).where(BatchRow.batch_id == stage_for.id))
    checked.finish()
    checked.rows = count
    return checked


def _chunks(rows: Iterator) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
