"""How portal objects are named in the ledger (the wallet may run as a separate service)."""

from __future__ import annotations

from portal.accounts.models import User


def wallet_owner(user: User) -> str:
    return f"user:{user.id}"


def agency_owner(agency_code: str) -> str:
    return f"agency:{agency_code}"
