"""The streaming workbook writer: what goes in comes back out of openpyxl, typed."""

from __future__ import annotations

from datetime import date, datetime

from openpyxl import load_workbook

from portal.reports.xlsx import write_workbook


def test_text_amounts_and_days_come_back_as_written(tmp_path):
    path = str(tmp_path / "out.xlsx")
    awkward = [
        '<tag> & "quotes"',
        "bell\x07 and form feed\x0c",
        "literal _x0041_ stays",
        "  spaced  ",
        "水费",
    ]
    rows = [(date(2026, 3, 5), text, 123_45 + n, None) for n, text in enumerate(awkward)]

    write_workbook(
        path, "Collections <3>", ["Day", "Text", "Amount", "Empty"], ["date", "text", "money", "text"], rows
    )

    book = load_workbook(path)
    sheet = book.active
    assert sheet.title == "Collections <3>"
    assert sheet.freeze_panes == "A2"
    header, *values = list(sheet.iter_rows(values_only=True))
    assert header == ("Day", "Text", "Amount", "Empty")
    assert [row[1] for row in values] == [
        text.replace("\x07", "\ufffd").replace("\x0c", "\ufffd") for text in awkward
    ]
    assert [row[2] for row in values] == [(123_45 + n) / 100 for n in range(len(awkward))]
    assert all(row[0] == datetime(2026, 3, 5) and row[3] is None for row in values)
    assert sheet.cell(row=2, column=3).number_format == "#,##0.00"
    assert sheet.cell(row=2, column=1).is_date
