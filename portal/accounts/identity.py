"""Mainland mobile numbers, e-mail addresses and national ID numbers (GB 11643-1999)."""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"


def normalize_mobile(text: str) -> str | None:
    """'+86 138-0013-8000' -> '13800138000'; None when it is not a mainland mobile number."""
    digits = _SEPARATORS.sub("", text.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.match(digits) else None


def normalize_email(text: str) -> str | None:
    """A normalised address (lower-case), or None when it is not a deliverable-looking address."""
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def parse_login_identifier(text: str) -> tuple[str, str] | None:
    """('phone', number) or ('email', address) for a mobile number or e-mail typed in one field."""
    if "@" in text:
        email = normalize_email(text)
        return ("email", email) if email else None
    phone = normalize_mobile(text)
    return ("phone", phone) if phone else None


def id_check_character(first_17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def normalize_national_id(text: str) -> str:
    return text.strip().replace(" ", "").upper()


def national_id_problem(number: str, today: date | None = None) -> str | None:
    """Why an 18-character resident ID number is invalid ('shape', 'birth_date', 'check_digit'), or None."""
    if not _ID_SHAPE.match(number):
        return "shape"
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
    """Chinese convention: show the family name only ('张三' -> '张*')."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else name
