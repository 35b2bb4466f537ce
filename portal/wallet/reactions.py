"""The wallet's listener to account events (subscribed in ``portal.wiring``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal import events
from portal.accounts.models import User
from portal.wallet import resident
from portal.wallet.factory import wallet_service


def identity_verified(session: Session, event: events.IdentityVerified) -> None:
    """In the verification's transaction: the wallet exists, and a linked card lifts it a tier now."""
    resident.identity_verified(wallet_service(session), session.get(User, event.user_id))
