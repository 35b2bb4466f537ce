"""The verification code printed as a QR link on each receipt: the receipt number signed with a key
that only the portal holds (HMAC), so an edited or invented link is told apart from a genuine one."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer


def _serializer() -> URLSafeSerializer:
    config = current_app.config
    return URLSafeSerializer(config.get("RECEIPT_SIGNING_KEY") or config["SECRET_KEY"], salt="portal.receipt")


def verification_token(receipt_number: str) -> str:
    return _serializer().dumps(receipt_number)


def number_from_token(token: str) -> str | None:
    """The receipt number a genuine token carries; None for anything edited or forged."""
    try:
        number = _serializer().loads(token)
    except BadSignature:
        return None
    return number if isinstance(number, str) else None
