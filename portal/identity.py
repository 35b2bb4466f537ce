"""Mainland mobile numbers, e-mail addresses and national ID numbers (GB 11643-1999)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from email_validator import EmailNotValidError, validate_email

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"
# GB/T 2260 province-level codes (the first two digits), plus 71/81/82/83 used for Taiwan, Hong Kong
# and Macao residents' permits.
PROVINCE_CODES = frozenset(
    [
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
        "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
        "81", "82", "83",
    ]
)  # fmt: skip
# Chinese characters, the middle dot of minority and transliterated names, Latin letters and spaces.
_NAME_LETTER = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z"
_REAL_NAME = re.compile(f"^[{_NAME_LETTER}·]([{_NAME_LETTER}· .]*[{_NAME_LETTER}])?$")


def fold_width(text: str) -> str:
    """Full-width digits and letters typed on a Chinese keyboard become their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def normalize_mobile(text: str) -> str | None:
    """'+86 138-0013-8000' -> '13800138000'; None when it is not a mainland mobile number."""
    digits = _SEPARATORS.sub("", fold_width(text).strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.match(digits) else None


def normalize_email(text: str) -> str | None:
    """A normalised address (lower-case), or None when it is not a deliverable-looking address."""
    try:
        # ASCII mailboxes only: many mail systems cannot yet deliver to internationalised addresses.
        result = validate_email(fold_width(text).strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def parse_login_identifier(text: str) -> tuple[str, str] | None:
    """('phone', number) or ('email', address) for a mobile number or e-mail typed in one field."""
    text = fold_width(text)
    if "@" in text:
        email = normalize_email(text)
        return ("email", email) if email else None
    phone = normalize_mobile(text)
    return ("phone", phone) if phone else None


def id_check_character(first_17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def normalize_national_id(text: str) -> str:
    return fold_width(text).strip().replace(" ", "").upper()


def normalize_real_name(text: str) -> str | None:
    """The name with single spaces, or None when it holds characters no real name has."""
    name = " ".join(fold_width(text).split())
    name = name.replace("•", "·").replace("・", "·")
    return name if 2 <= len(name) <= 50 and _REAL_NAME.match(name) else None


def national_id_problem(number: str, today: date | None = None) -> str | None:
    """Why an 18-character resident ID number is invalid, or None.

    Problems: 'shape', 'region' (no such province), 'birth_date' (impossible or out of range),
    'check_digit' (GB 11643-1999 MOD 11-2).
    """
    if not _ID_SHAPE.match(number):
        return "shape"
    if number[:2] not in PROVINCE_CODES or number[2:6] == "0000":
        return "region"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "birth_date"
    if born > (today or date.today()) or born.year < 1900:
        return "birth_date"
    if id_check_character(number[:17]) != number[17]:
        return "check_digit"
    return None


def mask_national_id(number: str | None) -> str:
    """'500101199001011234' -> '5001**********1234': enough to recognise, not enough to misuse."""
    if not number:
        return ""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone else ""


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None) -> str:
    """Chinese convention: '张三' -> '张*', '张小三' -> '张*三', '欧阳小明' -> '欧**明'."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]
