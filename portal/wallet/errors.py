"""Wallet refusals with stable codes. The code and its parameters travel over the JSON API; the message
is rendered in the reader's language from them, so the HTTP client shows the same words as in-process."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.errors import PortalError
from portal.money import format_fen


def _messages() -> dict[str, str]:
    return {
        "invalid_amount": _("Enter an amount of at least ¥0.01, with at most two decimal places."),
        "insufficient_funds": _("Your available balance (%(available)s) is not enough for %(amount)s."),
        "per_payment_limit": _(
            "This exceeds your wallet's limit of %(limit)s per payment. Verify your identity to raise it."
        ),
        "daily_limit": _(
            "This exceeds your wallet's daily payment limit of %(limit)s: %(left)s is left today "
            "(Beijing time)."
        ),
        "balance_limit": _(
            "This top-up would take your balance above your wallet's limit of %(limit)s; "
            "you can add at most %(room)s."
        ),
        "wallet_frozen": _(
            "Your wallet is frozen: it cannot pay, top up or withdraw. Call the hotline 12345 for help."
        ),
        "wallet_not_found": _("No wallet was found for this account."),
        "account_not_found": _("The account %(account)s does not exist in the ledger."),
        "idempotency_conflict": _(
            "This request reuses an idempotency key with different details. Start again from the form."
        ),
        "payment_not_found": _("No payment with reference %(reference)s was found."),
        "refund_exceeds_payment": _("At most %(left)s of this payment can still be refunded."),
        "hold_not_found": _("No hold with reference %(reference)s was found."),
        "hold_not_active": _("This hold is no longer active: it was captured or released."),
        "hold_expired": _("This hold has expired and its funds were released."),
        "agency_required": _("This payment went to several agencies: say which agency's part to refund."),
        "capture_exceeds_hold": _("At most %(amount)s can be captured from this hold."),
        "card_not_found": _("Choose one of your linked bank cards."),
        "card_invalid": _("This card number is not valid. Check the digits on your card."),
        "card_declined": _("The bank declined this request. Try another card or contact your bank."),
        "budget_exhausted": _("The campaign's budget has %(left)s left: not enough for this discount."),
        "busy": _("The wallet is busy. Nothing was changed; try again in a moment."),
    }


MONEY_PARAMS = ("available", "amount", "limit", "left", "room")


class WalletError(PortalError):
    """A refusal by a wallet rule. ``code`` is stable; ``params`` hold fen amounts and references."""

    http_status = 422

    def __init__(self, code: str, *, field: str | None = None, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(render_message(code, params), field=field)


class WalletNotFound(WalletError):
    http_status = 404


class IdempotencyConflict(WalletError):
    http_status = 409

    def __init__(self) -> None:
        super().__init__("idempotency_conflict")


class WalletBusy(WalletError):
    http_status = 503

    def __init__(self) -> None:
        super().__init__("busy")


class SpoiltTransaction(RuntimeError):
    """The caller's transaction can no longer be committed (a failed statement on the no-savepoint fast
    path). Deliberately not a PortalError: no view catches it, so the request ends in a rollback."""


ERROR_CLASSES: dict[str, type[WalletError]] = {
    "wallet_not_found": WalletNotFound,
    "account_not_found": WalletNotFound,
    "payment_not_found": WalletNotFound,
    "hold_not_found": WalletNotFound,
    "card_not_found": WalletNotFound,
}


def render_message(code: str, params: dict[str, object]) -> str:
    shown = {key: format_fen(value) if key in MONEY_PARAMS else value for key, value in params.items()}
    template = _messages().get(code, code)
    try:
        return template % shown
    except (KeyError, TypeError, ValueError):
        return template


def error_from_code(code: str, params: dict[str, object], field: str | None = None) -> WalletError:
    """Rebuild the error a remote wallet reported (used by the HTTP client)."""
    if code == "idempotency_conflict":
        return IdempotencyConflict()
    if code == "busy":
        return WalletBusy()
    error_class = ERROR_CLASSES.get(code, WalletError)
    return error_class(code, field=field, **params)
