"""Export files that stream: CSV (UTF-8 with BOM) chunk by chunk, XLSX through a temporary file
(portal/reports/xlsx.py). On PostgreSQL the CSV is written by the database itself (COPY ... TO
STDOUT), with the same cells the Python path writes on other databases."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence

from flask_babel import gettext as _
from sqlalchemy import Numeric, Select, cast, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.audit.services import record
from portal.db import Database
from portal.errors import PortalError
from portal.money import plain_yuan
from portal.reports.collections import Column, count_lines
from portal.reports.filters import CollectionFilter
from portal.reports.xlsx import write_workbook

BOM = "\ufeff".encode()
CHUNK_BYTES = 256 * 1024
FETCH_ROWS = 5000
XLSX_MAX_ROWS = 1_048_575  # a worksheet holds 1,048,576 rows, the header included
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def record_export(session: Session, staff: User, report: CollectionFilter, kind: str) -> int:
    """Counts the lines an export will hold and writes it to the audit log (who, what filter, how many
    rows) in the request's transaction; refuses a workbook Excel could not open."""
    rows = count_lines(session, report)
    if kind == "xlsx" and rows > XLSX_MAX_ROWS:
        raise PortalError(
            _("Excel holds at most %(rows)d rows: narrow the filter or export CSV.", rows=XLSX_MAX_ROWS)
        )
    record(
        session,
        f"user:{staff.id}",
        "report.export",
        "report:collections",
        format=kind,
        rows=rows,
        **report.describe(),
    )
    return rows


def csv_chunks(
    database: Database, query: Select, columns: Sequence[Column], headers: Sequence[str]
) -> Iterator[bytes]:
    """The whole CSV as chunks of about CHUNK_BYTES; at most one chunk is held at a time."""
    yield BOM + _csv_line(headers).encode()
    with database.sessionmaker() as session:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            yield from _copy_chunks(connection, _in_yuan(query, columns))
        else:
            yield from _python_chunks(connection, query, columns)


def _csv_line(values: Sequence[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _in_yuan(query: Select, columns: Sequence[Column]) -> Select:
    """Money columns as exact yuan with two decimals, as plain_yuan writes them."""
    inner = query.subquery()
    outer = []
    for column in columns:
        value = inner.c[column.name]
        outer.append(
            cast(cast(value, Numeric(20, 0)) / 100, Numeric(20, 2)) if column.kind == "money" else value
        )
    return select(*outer)


def _copy_chunks(connection, query: Select) -> Iterator[bytes]:
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    cursor = connection.connection.driver_connection.cursor()
    statement = f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)"
    buffer = bytearray()
    with cursor.copy(statement, compiled.params) as copy:
        for row in copy:  # libpq hands over one row at a time
            buffer += row
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


def _python_chunks(connection, query: Select, columns: Sequence[Column]) -> Iterator[bytes]:
    format_row = _row_formatter(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    result = connection.execute(query.execution_options(yield_per=FETCH_ROWS))  # this query only
    for rows in result.partitions():
        writer.writerows(format_row(row) for row in rows)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _row_formatter(columns: Sequence[Column]) -> Callable[[Sequence[object]], list[object]]:
    money = [column.kind == "money" for column in columns]

    def format_row(row: Sequence[object]) -> list[object]:
        return [
            plain_yuan(value) if is_money and value is not None else value
            for value, is_money in zip(row, money, strict=True)
        ]

    return format_row


def write_xlsx(
    database: Database, query: Select, columns: Sequence[Column], headers: Sequence[str], title: str
) -> str:
    """Writes the rows to a temporary .xlsx (the caller deletes it) and returns its path. Money cells are
    numbers in yuan with two decimals; dates are dates; text is text, never a formula."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="portal-export-")
    os.close(handle)
    try:
        with database.sessionmaker() as session:
            rows = session.connection().execute(query.execution_options(yield_per=FETCH_ROWS))
            write_workbook(path, title, headers, [column.kind for column in columns], rows)
    except BaseException:
        os.unlink(path)
        raise
    return path
