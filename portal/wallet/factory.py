"""Builds the wallet the portal talks to: in-process (default) or over HTTP when WALLET_URL is set."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from portal.db import get_session
from portal.wallet.funding import GATEWAYS
from portal.wallet.http_client import HttpWalletClient
from portal.wallet.services import WalletService


def wallet_service(session: Session, client: str = "portal") -> WalletService:
    config = current_app.config
    return WalletService(
        session,
        limits=config["WALLET_LIMITS"],
        gateway=GATEWAYS["sandbox"](),
        client=client,
        hold_ttl_seconds=config["WALLET_HOLD_TTL_SECONDS"],
    )


def wallet_client():
    """The portal's wallet: the service on this request's session, or the HTTP client of a remote one."""
    config = current_app.config
    if config["WALLET_URL"]:
        return HttpWalletClient(
            config["WALLET_URL"], config["WALLET_CLIENT_ID"], config["WALLET_CLIENT_SECRET"]
        )
    return wallet_service(get_session())
