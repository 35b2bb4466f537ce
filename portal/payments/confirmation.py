"""Confirming a reviewed quote, from the signed form to the payment: one call for the confirm page.

It reads the signed quote, answers a repeat of the same confirmation with the first payment, asks the
agencies again, refuses a quote that changed since review and pays. Each refusal is a domain error the
page turns into words; nothing here commits (the request's commit point does)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.errors import PortalError, ValidationFailed
from portal.money import parse_amount
from portal.payments import checkout, services
from portal.payments.models import Payment
from portal.screening import Blocked


@dataclass(frozen=True)
class Confirmed:
    """The payment this confirmation made, or made already when it was sent before (``replayed``);
    ``other_amounts``: a repeat asked for amounts other than the ones that were paid."""

    payment: Payment
    replayed: bool = False
    other_amounts: bool = False


class PaymentRefused(PortalError):
    """The fresh quote could not be paid as entered (amounts, wallet, limits, a bill taken meanwhile):
    the review page shows it again with the reason; nothing was paid."""

    def __init__(self, quote: checkout.Quote, error: PortalError) -> None:
        super().__init__(error.message, field=error.field)
        self.quote = quote


def confirm(
    session: Session, wallet, user: User, token: str, entered: Mapping[str, str], locale: str
) -> Confirmed:
    """Pay what the signed review ``token`` showed, with the amounts ``entered`` (form fields
    ``amount-<line>``). Raises ValidationFailed (the review expired), AgencyUnavailable or another
    PortalError from asking the agencies, QuoteChanged (with the fresh quote under a new key),
    PaymentRefused, or screening.Blocked (its flag is left for the commit)."""
    key, selections, fingerprints, discount_seen = checkout.read_quote(token, user.id)
    existing = services.find_by_key(session, user, key)
    if existing is not None:  # a double click, a refresh, back-and-resubmit: the same payment
        asked = _amounts_if_readable(entered, len(existing.items))
        return Confirmed(existing, replayed=True, other_amounts=services.replay_differs(existing, asked))
    fresh = checkout.quote(session, selections, locale, key=key)
    if not checkout.unchanged(fresh, fingerprints):
        raise checkout.QuoteChanged(checkout.Quote(checkout.new_key(), fresh.lines))  # a new decision
    try:
        amounts = services.chosen_amounts(fresh, entered_amounts(entered, len(fresh.lines)))
        payment = services.pay(session, wallet, user, fresh, amounts, discount_seen_fen=discount_seen)
    except Blocked:
        raise
    except PortalError as error:
        raise PaymentRefused(fresh, error) from error
    return Confirmed(payment)


def entered_amounts(entered: Mapping[str, str], count: int) -> dict[int, int]:
    """The amounts typed for lines 0..count-1 (blank lines are left out); ValidationFailed names the
    field that is not an amount."""
    amounts: dict[int, int] = {}
    for index in range(count):
        text = (entered.get(f"amount-{index}") or "").strip()
        if text:
            try:
                amounts[index] = parse_amount(text)
            except ValueError as error:
                raise ValidationFailed(
                    _("Enter an amount such as 12.50."), field=f"amount-{index}"
                ) from error
    return amounts


def _amounts_if_readable(entered: Mapping[str, str], count: int) -> dict[int, int] | None:
    try:
        return entered_amounts(entered, count)
    except ValidationFailed:
        return None
