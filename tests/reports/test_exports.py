"""Exports: CSV with BOM, XLSX and PDF; formula payloads neutralised, numbers kept numbers; the file name
carries the filter; every export is in the audit log."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.reports.collections import LINE_COLUMNS, line_query
from portal.reports.exports import _python_chunks
from portal.reports.filters import CollectionFilter
from tests.conftest import login
from tests.reports.conftest import local_agency

MOMENT = datetime(2026, 3, 5, 2, 30, tzinfo=UTC)
QUERY = "date_from=2026-03-01&date_to=2026-03-31"
PAYLOADS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTAB",
    "\rCR",
]

# An apostrophe before each; a carriage return is written as a line feed by every export path.
NEUTRALISED = sorted("'" + payload.replace("\r", "\n") for payload in PAYLOADS)


@pytest.fixture
def poisoned(app, db, payments, finance, client):
    """An agency whose name and bills' descriptions are spreadsheet formulas."""
    agency = local_agency(app, "evil", name_zh="=1+1 水务", name_en="=1+1 Water")
    made = [
        payments.pay(agency, 1_000 + n, MOMENT, description=payload) for n, payload in enumerate(PAYLOADS)
    ]
    client.get("/language/en")
    login(client, finance.email)
    return made


def _csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_neutralises_formulas_and_keeps_numbers(client, poisoned):
    response = client.get(f"/reports/collections.csv?{QUERY}&agency=evil")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert 'filename="collections_2026-03-01_2026-03-31_evil.csv"' in disposition
    header, *rows = _csv_rows(response)
    assert header[:3] == ["Business day", "Paid at (Beijing time)", "Payment reference"]
    assert len(header) == len(LINE_COLUMNS)
    by_name = [dict(zip([c.name for c in LINE_COLUMNS], row, strict=True)) for row in rows]
    assert sorted(row["description"] for row in by_name) == NEUTRALISED
    assert {row["agency"] for row in by_name} == {"'=1+1 Water"}
    assert sorted(row["amount"] for row in by_name) == [f"{10 + n // 100}.{n % 100:02d}" for n in range(6)]
    assert all(
        row["business_day"] == "2026-03-05" and row["paid_at"] == "2026-03-05 10:30:00" for row in by_name
    )


def test_xlsx_cells_are_text_numbers_and_dates(client, poisoned):
    response = client.get(f"/reports/collections.xlsx?{QUERY}")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith("collections_2026-03-01_2026-03-31.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    names = [column.name for column in LINE_COLUMNS]
    assert list(header[-2:]) == ["Agency reference", "Ledger transfer"]
    cells = [dict(zip(names, row, strict=True)) for row in rows]
    assert sorted(cell["description"] for cell in cells) == NEUTRALISED
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)  # no formula anywhere
    assert sorted(cell["amount"] for cell in cells) == [10 + n / 100 for n in range(6)]
    assert all(isinstance(cell["amount"], int | float) for cell in cells)  # numbers, not text
    assert all(cell["business_day"] == datetime(2026, 3, 5) for cell in cells)


def test_pdf_summary_shows_the_totals(client, poisoned):
    response = client.get(f"/reports/collections.pdf?{QUERY}")

    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages)
    assert "¥60.15" in text  # 10.00 + 10.01 + ... + 10.05
    assert "=1+1 Water" in text


def test_every_export_is_audited_with_its_filter_and_rows(client, db, poisoned, finance):
    client.get(f"/reports/collections.csv?{QUERY}&agency=evil").get_data()
    client.get(f"/reports/collections.xlsx?{QUERY}&state=paid")

    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "report.export").order_by(AuditEvent.id)
    ).all()
    details = [json.loads(event.details_json) for event in events]
    assert [event.actor for event in events] == [f"user:{finance.id}"] * 2
    assert details[0] == {
        "format": "csv",
        "rows": 6,
        "from": "2026-03-01",
        "to": "2026-03-31",
        "agency": "evil",
    }
    assert details[1] == {
        "format": "xlsx",
        "rows": 6,
        "from": "2026-03-01",
        "to": "2026-03-31",
        "state": "paid",
    }


def test_database_copy_writes_the_same_bytes_as_the_python_path(app, db, poisoned, backend):
    if backend != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    from portal.reports.exports import _copy_chunks, _in_yuan

    with app.test_request_context():
        query = line_query(CollectionFilter(date(2026, 3, 1), date(2026, 3, 31)), "zh_CN")
        connection = db.connection()
        copied = b"".join(_copy_chunks(connection, _in_yuan(query, LINE_COLUMNS)))
        written = b"".join(_python_chunks(connection, query, LINE_COLUMNS))
    assert copied.count(b"\n") >= 6
    assert copied == written


def test_a_bad_date_range_is_explained_not_exported(client, poisoned):
    response = client.get("/reports/collections.csv?date_from=2026-03-31&date_to=2026-03-01")

    assert response.status_code == 400
    assert "The end date must be on or after the start date." in response.get_data(as_text=True)


def test_an_excel_file_excel_could_not_open_is_refused_with_a_message(client, db, poisoned, monkeypatch):
    monkeypatch.setattr("portal.reports.exports.XLSX_MAX_ROWS", 5)  # six lines are one too many

    response = client.get(f"/reports/collections.xlsx?{QUERY}", follow_redirects=True)

    assert response.status_code == 200
    assert "Excel holds at most 5 rows: narrow the filter or export CSV." in response.get_data(as_text=True)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "report.export")) is None
