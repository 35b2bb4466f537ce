"""Public references for payments and receipts: random, so no one can walk the sequence."""

from __future__ import annotations

import secrets
from datetime import datetime

from portal.clock import business_day

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U to misread


def random_code(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def payment_reference() -> str:
    return "P" + random_code(15)  # 75 random bits


def receipt_number(issued_at: datetime) -> str:
    """The Beijing issue day, then 12 random characters (60 bits): 20261126-7K3MQ9XD2PAB."""
    return f"{business_day(issued_at):%Y%m%d}-{random_code(12)}"
