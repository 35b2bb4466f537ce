"""The columns of a bill batch and the checks on each row. A row becomes a BillRow or a list of
RowErrors naming the row number and the column, in the clerk's language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

from portal.money import AmountError, parse_amount


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool
    example: str
    rule: object  # a lazy string: what the column must hold


COLUMNS = (
    Column(
        "bill_no", "账单号", "Bill number", True, "W202611-0001", _l("Letters, digits and - _ /, up to 40")
    ),
    Column(
        "account_reference", "户号", "Account number", True, "3100200300", _l("6 to 20 digits or capitals")
    ),
    Column("payer_name", "缴费人", "Payer", True, "张小三", _l("Up to 50 characters")),
    Column("amount", "金额", "Amount", True, "46.80", _l("Yuan, e.g. 46.80, 1,234.50 or ¥88")),
    Column("late_fee", "滞纳金", "Late fee", False, "0", _l("Yuan; empty means none")),
    Column(
        "due_date",
        "缴费截止日",
        "Due date",
        False,
        "2026-12-15",
        _l("2026-12-15, 2026/12/15 or 2026年12月15日"),
    ),
    Column("period", "账期", "Period", False, "2026-11", _l("Up to 20 characters, e.g. 2026-11")),
    Column("description", "说明", "Description", False, "居民生活用水", _l("Up to 200 characters")),
)
_BY_NAME = {
    name: column
    for column in COLUMNS
    for name in (column.key, column.zh, column.en.lower(), f"{column.zh}/{column.en}".lower())
}
_BILL_NO = re.compile(r"[0-9A-Za-z_/-]{1,40}")
_ACCOUNT = re.compile(r"[0-9A-Z]{6,20}")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


CHUNK = 2_000  # rows at a time: checked, compared with the stored bills, read back, inserted


@dataclass(frozen=True)
class RowError:
    line: int
    column: str  # the header as the clerk wrote it, or "" for the whole row
    message: str


class BillRow(NamedTuple):
    """A valid row, its values normalised (a tuple: cheap to make 500,000 of, and COPY writes it as is)."""

    line: int
    bill_no: str
    account_reference: str
    payer_name: str
    amount_fen: int
    late_fee_fen: int
    due_date: date | None
    period: str
    description: str


def map_header(header: tuple[str, ...]) -> tuple[dict[str, int], list[str]]:
    """Column key -> cell index, and the problems with the header (missing or repeated columns)."""
    positions: dict[str, int] = {}
    problems = []
    for index, name in enumerate(header):
        column = _BY_NAME.get(_clean(name).lower()) or _BY_NAME.get(_clean(name))
        if column is None:
            continue
        if column.key in positions:
            problems.append(str(_l("The column %(name)s appears twice.", name=column.zh)))
        positions[column.key] = index
    for column in COLUMNS:
        if column.required and column.key not in positions:
            problems.append(str(_l("The column %(zh)s (%(en)s) is missing.", zh=column.zh, en=column.en)))
    return positions, problems


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().removeprefix("\ufeff")


_PLAIN_AMOUNT = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,2}))?")  # 12 digits of yuan stay under MAX_AMOUNT_FEN
_PLAIN_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
MEMO = 10_000


def row_checker(
    positions: dict[str, int], header: tuple[str, ...]
) -> Callable[[int, tuple[str, ...]], BillRow | list[RowError]]:
    """check_row for one file's columns, quicker for the plain rows most files hold: ASCII amounts
    such as 46.80, ISO dates, cells within their lengths. Anything else, and every row with a problem,
    goes through check_row itself, so what a row becomes and every message stay those of check_row."""
    indexes = [positions.get(column.key) for column in COLUMNS]
    width = max(index for index in indexes if index is not None) + 1
    # A column the header lacks reads the "" appended to each row (index -1).
    i_bill, i_account, i_payer, i_amount, i_late, i_due, i_period, i_description = (
        -1 if index is None else index for index in indexes
    )
    bill_pattern, account_pattern = _BILL_NO.fullmatch, _ACCOUNT.fullmatch
    # Amounts and dates repeat down a file: each text is parsed once (up to MEMO texts of each).
    amounts: dict[str, int | None] = {"": None}
    dates: dict[str, date | None] = {"": None}

    def plain_fen(text: str) -> int | None:
        match = _PLAIN_AMOUNT.fullmatch(text.strip())
        fen = int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0")) if match else None
        if len(amounts) < MEMO:
            amounts[text] = fen
        return fen

    def plain_date(text: str) -> date | None:
        match = _PLAIN_DATE.fullmatch(text.strip())
        try:
            day = date(int(match[1]), int(match[2]), int(match[3])) if match else None
        except ValueError:
            day = None
        if len(dates) < MEMO:
            dates[text] = day
        return day

    def check(line: int, cells: tuple[str, ...]):
        if len(cells) < width:  # a short row: check_row says which cells are missing
            return check_row(line, cells, positions, header)
        padded = (*cells, "")
        bill_no = padded[i_bill].strip()
        account = padded[i_account].strip()
        payer = padded[i_payer].strip()
        text = padded[i_amount]
        amount_fen = amounts[text] if text in amounts else plain_fen(text)
        text = padded[i_late]
        late_fee_fen = amounts[text] if text in amounts else plain_fen(text)
        late_missing = late_fee_fen is None and text.strip()
        text = padded[i_due]
        due_date = dates[text] if text in dates else plain_date(text)
        due_missing = due_date is None and text.strip()
        period = padded[i_period].strip()
        description = padded[i_description].strip()
        if (
            not bill_pattern(bill_no)
            or not account.isascii()
            or not account_pattern(account := account.upper())
            or not payer
            or len(payer) > 50
            or not amount_fen  # None (not plain) or 0
            or late_missing
            or due_missing
            or len(period) > 20
            or len(description) > 200
        ):
            return check_row(line, cells, positions, header)
        return BillRow(
            line, bill_no, account, payer, amount_fen, late_fee_fen or 0, due_date, period, description
        )

    return check


def check_row(line: int, cells: tuple[str, ...], positions: dict[str, int], header: tuple[str, ...]):
    """A BillRow, or the list of what is wrong with the row."""
    errors: list[RowError] = []

    def cell(key: str) -> str:
        index = positions.get(key)
        return (cells[index] if index is not None and index < len(cells) else "").strip()

    def fail(key: str, message) -> None:
        errors.append(RowError(line, header[positions[key]] if key in positions else key, str(message)))

    bill_no = cell("bill_no")
    if not _BILL_NO.fullmatch(bill_no):
        fail("bill_no", _l("Enter a bill number of letters, digits and - _ /, up to 40 characters."))
    account = unicodedata.normalize("NFKC", cell("account_reference")).upper()
    if not _ACCOUNT.fullmatch(account):
        fail("account_reference", _l("Enter an account number of 6 to 20 digits or capital letters."))
    payer = cell("payer_name")
    if not payer or len(payer) > 50:
        fail("payer_name", _l("Enter the payer's name, up to 50 characters."))
    amount = _amount(cell("amount"), required=True, fail=lambda m: fail("amount", m))
    late_fee = _amount(cell("late_fee"), required=False, fail=lambda m: fail("late_fee", m))
    due = _date(cell("due_date"), fail=lambda m: fail("due_date", m))
    period, description = cell("period"), cell("description")
    if len(period) > 20:
        fail("period", _l("The period is longer than 20 characters."))
    if len(description) > 200:
        fail("description", _l("The description is longer than 200 characters."))
    if errors:
        return errors
    return BillRow(line, bill_no, account, payer, amount, late_fee or 0, due, period, description)


def _amount(text: str, *, required: bool, fail) -> int | None:
    if not text:
        if required:
            fail(_l("Enter the amount."))
        return None
    try:
        fen = parse_amount(text)
    except AmountError:
        fail(_l("%(value)s is not an amount in yuan (for example 46.80).", value=text[:30]))
        return None
    if required and fen <= 0:
        fail(_l("The amount must be more than zero."))
    return fen


def _date(text: str, *, fail) -> date | None:
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        fail(_l("%(value)s is not a date (for example 2026-12-15).", value=text[:30]))
        return None
