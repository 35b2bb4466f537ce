"""Taxpayer identification numbers: the 18-character unified social credit code (GB 32100-2015) of an
organisation, or a person's resident ID number (GB 11643-1999)."""

from __future__ import annotations

import re

from portal.identity import national_id_problem, normalize_national_id

USCC_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V or Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"^[1-9A-HY][1-9][0-9]{{6}}[{USCC_CHARACTERS}]{{10}}$")


def uscc_check_character(first_17: str) -> str:
    total = sum(
        USCC_CHARACTERS.index(char) * weight for char, weight in zip(first_17, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARACTERS[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    return bool(_USCC_SHAPE.match(code)) and uscc_check_character(code[:17]) == code[17]


def normalize_taxpayer_id(text: str) -> str | None:
    """The taxpayer id in canonical form if it is a valid credit code or resident ID number, else None."""
    candidate = normalize_national_id(text)
    if uscc_valid(candidate) or national_id_problem(candidate) is None:
        return candidate
    return None
