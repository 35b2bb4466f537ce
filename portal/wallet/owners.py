"""How portal objects are named in the ledger (the wallet may run as a separate service)."""

from __future__ import annotations

from portal.accounts.models import User


def wallet_owner(user: User) -> str:
    return f"user:{user.id}"


def wallet_number(user_id: int) -> str:
    """The 16 digits a resident reads out to pay without signing in: 8860, the account, a Luhn digit."""
    body = f"8860{user_id:011d}"
    return body + _luhn_digit(body)


def user_id_of_wallet_number(text: str) -> int | None:
    """The account of a wallet number as typed (spaces allowed); None when it is not one."""
    digits = "".join(text.split())
    if len(digits) != 16 or not digits.isdigit() or not digits.startswith("8860"):
        return None
    if _luhn_digit(digits[:-1]) != digits[-1]:
        return None
    return int(digits[4:15]) or None


def _luhn_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def agency_owner(agency_code: str) -> str:
    return f"agency:{agency_code}"
