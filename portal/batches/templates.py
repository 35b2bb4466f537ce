"""Blank bill files for clerks to fill: the columns in Chinese and English, and one example row."""

from __future__ import annotations

import csv
import io

from portal.batches.rows import COLUMNS


def build(kind: str) -> tuple[bytes, str]:
    header = [f"{column.zh}/{column.en}" for column in COLUMNS]
    example = [column.example for column in COLUMNS]
    if kind == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, example])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv"
    from openpyxl import Workbook  # for weight: only workbook templates need it

    book = Workbook()
    sheet = book.active
    sheet.title = "bills"
    sheet.append(header)
    sheet.append(example)
    for cells in sheet.iter_cols(min_row=2, max_row=2):
        for cell in cells:
            cell.number_format = "@"  # text, so account numbers keep their leading zeros
    output = io.BytesIO()
    book.save(output)
    return output.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
