"""A streaming writer of one-sheet workbooks (SpreadsheetML, .xlsx) for exports of up to a million
lines. Measured here, XlsxWriter took about 20 s for 100,000 lines of 17 cells, Python code per cell
being the cost; writing each row as one string takes about 1 s. Rows go straight into the zip entry,
so memory holds one batch of rows. Text is written as inline strings (never a formula), amounts as
numbers with two decimals, days as dates."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from xml.sax.saxutils import escape, quoteattr  # escapes what we write, parses nothing  # nosec B406

from portal.money import plain_yuan

EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system (with its leap-year quirk)
BATCH_ROWS = 1000
STYLE = {"date": 1, "money": 2, "header": 3}  # indexes into cellXfs below
WIDTHS = {"date": 11, "money": 14, "text": 18, "count": 16}
# XML 1.0 cannot hold these characters: they are written as U+FFFD, the replacement character.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    f'{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OFFICE}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{OFFICE}.styles+xml"/></Types>'
)
PACKAGE_RELS = (
    f'{XML}<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
    f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    f'{XML}<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>'
)
STYLES = (
    f"{XML}<styleSheet {NS}>"
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="#,##0.00"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def write_workbook(
    path: str, title: str, headers: Sequence[str], kinds: Sequence[str], rows: Iterable[Sequence]
) -> None:
    """``kinds`` per column: "text", "money" (fen), "count" (a whole number) or "date"; a money or count
    cell given text (a withheld figure) is written as text. The header row stays in view (frozen)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", PACKAGE_RELS)
        package.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        package.writestr("xl/styles.xml", STYLES)
        package.writestr("xl/workbook.xml", _workbook(title))
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_sheet_start(headers, kinds).encode())
            for batch in _row_batches(rows, [_CELL_WRITERS[kind] for kind in kinds]):
                sheet.write(batch.encode())
            sheet.write(b"</sheetData></worksheet>")


def _workbook(title: str) -> str:
    name = quoteattr(_writable(title)[:31])
    sheets = f'<sheets><sheet name={name} sheetId="1" r:id="rId1"/></sheets>'
    return f'{XML}<workbook {NS} xmlns:r="{REL_NS}">{sheets}</workbook>'


def _sheet_start(headers: Sequence[str], kinds: Sequence[str]) -> str:
    columns = "".join(
        f'<col min="{n}" max="{n}" width="{WIDTHS[kind]}" customWidth="1"/>'
        for n, kind in enumerate(kinds, 1)
    )
    header = "".join(
        f'<c s="{STYLE["header"]}" t="inlineStr"><is><t>{_text(h)}</t></is></c>' for h in headers
    )
    frozen = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    views = f'<sheetViews><sheetView workbookViewId="0">{frozen}</sheetView></sheetViews>'
    return f"{XML}<worksheet {NS}>{views}<cols>{columns}</cols><sheetData><row>{header}</row>"


def _row_batches(rows: Iterable[Sequence], writers: list) -> Iterable[str]:
    batch = []
    for row in rows:
        batch.append(
            "<row>" + "".join(write(value) for write, value in zip(writers, row, strict=True)) + "</row>"
        )
        if len(batch) >= BATCH_ROWS:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)


def _writable(text: str) -> str:
    if not _UNWRITABLE.search(text):
        return text
    return _UNWRITABLE.sub("\ufffd", text)


def _text(text: str) -> str:
    return escape(_writable(text))


def _text_cell(value) -> str:
    if value is None:
        return "<c/>"
    return f'<c t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'


def _money_cell(value) -> str:
    if isinstance(value, str):  # a figure withheld ("<10")
        return _text_cell(value)
    return "<c/>" if value is None else f'<c s="{STYLE["money"]}"><v>{plain_yuan(value)}</v></c>'


def _count_cell(value) -> str:
    if value is None or isinstance(value, str):
        return _text_cell(value)
    return f"<c><v>{int(value)}</v></c>"


def _date_cell(value) -> str:
    return "<c/>" if value is None else f'<c s="{STYLE["date"]}"><v>{(value - EXCEL_EPOCH).days}</v></c>'


_CELL_WRITERS = {"text": _text_cell, "money": _money_cell, "date": _date_cell, "count": _count_cell}
