"""Turning an uploaded file into rows of text, whatever Excel or a Chinese Windows PC made of it.

The content decides what a file is, never its name: an .xlsx is a zip holding a workbook (macros
refused, the uncompressed size limited against zip bombs); anything else must be text in UTF-8 (with or
without BOM), UTF-16 with a BOM, or GB18030 (a superset of GBK). Executables and other binary files are
refused. Cells are returned as text exactly as written: nothing is ever evaluated.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import gettext as _

from portal.errors import ValidationFailed

BINARY_SIGNATURES = (b"MZ", b"\x7fELF", b"%PDF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"PK\x03\x04")


@dataclass(frozen=True)
class ReadFile:
    kind: str  # "csv" or "xlsx"
    encoding: str  # of a CSV; "xlsx" for workbooks
    header: tuple[str, ...]
    rows: Iterator[tuple[int, tuple[str, ...]]]  # (line number in the file, cells)


def read_upload(content: bytes, *, max_uncompressed: int) -> ReadFile:
    if not content or content.isspace():  # isspace() makes no copy of a 40 MB file
        raise ValidationFailed(_("The file is empty."), field="file")
    if content.startswith(b"PK\x03\x04"):
        return _read_xlsx(content, max_uncompressed)
    if any(content.startswith(signature) for signature in BINARY_SIGNATURES) or _looks_binary(content):
        raise ValidationFailed(
            _("This is not a CSV or Excel file. Upload the bills as .csv or .xlsx."), field="file"
        )
    encoding = detect_encoding(content)
    return _read_csv(content, encoding)


def _looks_binary(content: bytes) -> bool:
    """NUL bytes anywhere (a quick scan, no copy): no text file holds them, and PostgreSQL can store
    none, so a cell with one would fail the batch later with no clear message."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False  # UTF-16 text is full of NUL bytes
    return b"\x00" in content


def detect_encoding(content: bytes) -> str:
    """The encoding the whole file decodes in, checked piece by piece (the text is never held whole).
    GB18030 is tried after UTF-8: a GBK file is rarely valid UTF-8, and a UTF-8 file read as GB18030
    would be silently garbled, so the order matters."""
    if content.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        if _decodes(content, encoding):
            return encoding
    raise _undecodable()


def _decodes(content: bytes, encoding: str, piece: int = 1 << 20) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(content)
    try:
        for start in range(0, len(content), piece):
            decoder.decode(view[start : start + piece])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _undecodable() -> ValidationFailed:
    return ValidationFailed(
        _(
            "The file's characters could not be read. Save it as CSV in UTF-8 or GBK "
            "(Excel: 'CSV (逗号分隔)')."
        ),
        field="file",
    )


def _read_csv(content: bytes, encoding: str) -> ReadFile:
    lines = csv.reader(io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline=""))
    header = next(lines, None)
    if not header:
        raise ValidationFailed(_("The file has no header row."), field="file")
    rows = ((number, tuple(cells)) for number, cells in enumerate(lines, start=2) if "".join(cells).strip())
    return ReadFile("csv", encoding, tuple(header), rows)


def _read_xlsx(content: bytes, max_uncompressed: int) -> ReadFile:
    from openpyxl import load_workbook  # for weight: only workbooks need it

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ValidationFailed(
            _("This Excel file is damaged. Save it again and upload it."), field="file"
        ) from error
    if "xl/workbook.xml" not in names:
        raise ValidationFailed(
            _("This is not a CSV or Excel file. Upload the bills as .csv or .xlsx."), field="file"
        )
    if "xl/vbaProject.bin" in names:
        raise ValidationFailed(
            _("Workbooks with macros (.xlsm) are not accepted. Save it as .xlsx."), field="file"
        )
    if unpacked > max_uncompressed:
        raise ValidationFailed(
            _("This Excel file unpacks to more than the size limit. Split it up."), field="file"
        )
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for broken workbooks
        raise ValidationFailed(
            _("This Excel file is damaged. Save it again and upload it."), field="file"
        ) from error
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header = next(values, None)
    if not header:
        raise ValidationFailed(_("The file has no header row."), field="file")

    def rows():
        for number, cells in enumerate(values, start=2):
            text = tuple(_cell_text(cell) for cell in cells)
            if any(text):
                yield number, text
        book.close()

    return ReadFile("xlsx", "xlsx", tuple(_cell_text(cell) for cell in header), rows())


def _cell_text(value) -> str:
    """A cell as text. Numbers arrive as numbers from Excel: integers keep no '.0', and other numbers
    are written with repr (shortest exact form), then parsed as text like any CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "date") and hasattr(value, "year"):
        return value.date().isoformat() if hasattr(value, "hour") else value.isoformat()
    return str(value).strip()
