"""Money is an integer number of fen. Text becomes fen here, and fen becomes text here; never a float."""

from __future__ import annotations

import re
import unicodedata

FEN_PER_YUAN = 100
# ¥999,999,999,999.99: far above any bill or wallet, far below 64-bit overflow.
MAX_AMOUNT_FEN = 99_999_999_999_999

_AMOUNT = re.compile(r"^(?P<yuan>[0-9]{1,3}(?:,[0-9]{3}){1,5}|[0-9]{1,15})(?:\.(?P<fen>[0-9]{1,2}))?$")
_CURRENCY_MARKS = ("¥", "￥", "CNY", "RMB", "元")


class AmountError(ValueError):
    """Text that is not an amount of money in yuan with at most two decimals."""


def parse_amount(text: str) -> int:
    """'1,234.50' -> 123450 fen. Full-width digits and a ¥ sign are accepted; anything else is refused."""
    cleaned = unicodedata.normalize("NFKC", str(text)[:64]).strip().replace(" ", "")
    for mark in _CURRENCY_MARKS:
        cleaned = cleaned.removeprefix(mark).removesuffix(mark)
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise AmountError(text)
    yuan = int(match.group("yuan").replace(",", ""))
    fen = int((match.group("fen") or "0").ljust(2, "0"))
    amount = yuan * FEN_PER_YUAN + fen
    if amount > MAX_AMOUNT_FEN:
        raise AmountError(text)
    return amount


def format_fen(amount_fen: int, *, sign: bool = False) -> str:
    """123450 -> '¥1,234.50'; with sign=True, '+¥1,234.50' / '-¥1,234.50'."""
    magnitude = abs(amount_fen)
    text = f"¥{magnitude // FEN_PER_YUAN:,}.{magnitude % FEN_PER_YUAN:02d}"
    if amount_fen < 0:
        return "-" + text
    return ("+" + text) if sign and amount_fen > 0 else text


def plain_yuan(amount_fen: int) -> str:
    """123450 -> '1234.50': for CSV cells and form values, without separators or symbol."""
    sign = "-" if amount_fen < 0 else ""
    magnitude = abs(amount_fen)
    return f"{sign}{magnitude // FEN_PER_YUAN}.{magnitude % FEN_PER_YUAN:02d}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def chinese_capitals(amount_fen: int) -> str:
    """Chinese financial capitals (大写) as printed on receipts: 123450 -> '壹仟贰佰叁拾肆元伍角整'."""
    if amount_fen < 0:
        return "负" + chinese_capitals(-amount_fen)
    yuan, fen = divmod(amount_fen, FEN_PER_YUAN)
    jiao, fen = divmod(fen, 10)
    text = (_yuan_capitals(yuan) + "元") if yuan else ""
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return text


def _yuan_capitals(yuan: int) -> str:
    groups: list[int] = []
    while yuan:
        yuan, group = divmod(yuan, 10_000)
        groups.append(group)
    text = ""
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or group < 1000):
            text += "零"
        text += _group_capitals(group) + _BIG_UNITS[index]
        pending_zero = False
    return text


def _group_capitals(group: int) -> str:
    text = ""
    zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text
