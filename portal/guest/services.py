"""Paying a bill without signing in. The visitor names the payer's wallet; a one-time code goes to the
wallet's owner by their own channel; with the right code the bill is paid through payments.pay(),
the same service, idempotency key, limits and risk screen as a signed-in payment.

Whether a wallet exists is never said: with an unknown number the visitor is asked for a code that
nothing can match. Three wrong codes or the code's minutes end the try. A try pays one bill once (its
key is the try's), so a code sent again, or used for another bill, moves nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.authz import Role
from portal.clock import aware
from portal.db import utcnow
from portal.errors import PortalError, ValidationFailed
from portal.guest.models import AttemptState, GuestAttempt
from portal.identity import normalize_mobile
from portal.notify.services import guest_code
from portal.payments import checkout
from portal.payments import services as payments
from portal.payments.models import Payment, PaymentChannel
from portal.screening import Blocked
from portal.wallet.owners import user_id_of_wallet_number

MAX_TRIES = 3


def bill_to_pay(session: Session, selection_token: str, locale: str) -> checkout.QuoteLine:
    """The chosen bill as its agency reports it now; ValidationFailed when it cannot be paid this way."""
    selection = checkout.selection_from_token(selection_token)
    if selection is None:
        raise ValidationFailed(_("This bill can no longer be chosen. Look it up again."))
    line = checkout.quote(session, [selection], locale).lines[0]
    if not line.payable or not line.fixed_amount:
        raise ValidationFailed(_("This bill cannot be paid without signing in. Log in to pay it."))
    return line


def paid(session: Session, reference: str | None) -> Payment | None:
    """The payment this visitor's try made (the reference comes from their session only)."""
    if not reference:
        return None
    return session.scalar(
        select(Payment).where(Payment.reference == reference, Payment.channel == PaymentChannel.GUEST)
    )


def start(session: Session, selection_token: str, wallet: str, address: str, locale: str) -> GuestAttempt:
    """Quote the chosen bill now and send the payer's wallet owner a code; ValidationFailed when the
    bill cannot be paid this way."""
    line = bill_to_pay(session, selection_token, locale)
    selection = line.selection
    payer = _payer(session, wallet)
    code = f"{secrets.randbelow(1_000_000):06d}"
    token = secrets.token_urlsafe(32)
    attempt = GuestAttempt(
        token=token,
        selection=selection_token,
        agency_code=selection.agency_code,
        bill_id=selection.bill_id,
        amount_fen=line.bill.total_fen,
        user_id=payer.id if payer else None,
        code_hmac=_digest(token, code),
        state=AttemptState.WAITING,
        address=address[:64],
        expires_at=utcnow() + timedelta(minutes=current_app.config["GUEST_CODE_MINUTES"]),
    )
    session.add(attempt)
    if payer is not None:
        agency = session.scalar(select(Agency).where(Agency.code == selection.agency_code))
        facts = {
            "amount_fen": attempt.amount_fen,
            "bill": attempt.bill_id,
            "agency_zh": agency.name_zh,
            "agency_en": agency.name_en,
        }
        minutes = current_app.config["GUEST_CODE_MINUTES"]
        guest_code(session, payer, f"guest:{token[:40]}", code, facts, minutes, payer.locale or locale)
    return attempt


def confirm(session: Session, wallet_service, token: str, code: str, locale: str) -> Payment:
    """Pay the try's bill with the code typed. A wrong code counts and raises WrongCode (the view answers
    200, so the count is kept); the third ends the try. Anything else that stops the payment ends the
    try too and leaves nothing of the payment behind (a savepoint), with words that tell the visitor
    nothing of the owner's wallet."""
    attempt = _locked(session, token)
    if attempt.state is AttemptState.PAID:
        return session.get(Payment, attempt.payment_id)  # sent twice: the first payment
    if attempt.state is AttemptState.ENDED or aware(attempt.expires_at) <= utcnow():
        attempt.state = AttemptState.ENDED
        raise TryEnded(_("This code has expired or was entered wrong too often. Start again."))
    right = hmac.compare_digest(attempt.code_hmac, _digest(token, (code or "").strip()))
    if not right or attempt.user_id is None:
        attempt.tries += 1
        if attempt.tries >= MAX_TRIES:
            attempt.state = AttemptState.ENDED
            record(session, "anonymous", "guest.ended", f"guest:{attempt.id}", bill=attempt.bill_id)
            raise TryEnded(_("The code was wrong three times. Nothing was paid; start again if you wish."))
        raise WrongCode(
            _("That code is not right. %(left)d tries left.", left=MAX_TRIES - attempt.tries), field="code"
        )
    attempt.state = AttemptState.ENDED  # from here on the try is spent, paid or not
    savepoint = session.begin_nested()
    try:
        payment = _pay(session, wallet_service, attempt, locale)
    except Blocked:
        savepoint.commit()  # refused before anything was written but its flag, which the officers need
        raise TryEnded(_("The wallet could not pay this bill. Nothing was paid.")) from None
    except PortalError as error:
        savepoint.rollback()
        raise TryEnded(_("The wallet could not pay this bill. Nothing was paid.")) from error
    savepoint.commit()
    attempt.state, attempt.payment_id = AttemptState.PAID, payment.id
    return payment


def _pay(session: Session, wallet_service, attempt: GuestAttempt, locale: str) -> Payment:
    """The bill asked for again and paid as a signed-in payment would be, if it is still open and still
    costs what the code was sent for."""
    payer = session.get(User, attempt.user_id)
    selection = checkout.selection_from_token(attempt.selection)
    quote = checkout.quote(session, [selection], locale, key=f"guest:{attempt.token[:48]}")
    amounts = payments.chosen_amounts(quote, {})  # ValidationFailed when the bill is no longer open
    if amounts != [attempt.amount_fen]:
        raise ValidationFailed(_("The bill changed since the code was sent."))
    return payments.pay(session, wallet_service, payer, quote, amounts, channel=PaymentChannel.GUEST)


class WrongCode(ValidationFailed):
    """Not the code that was sent; the try goes on while tries are left."""


class TryEnded(ValidationFailed):
    """The try can pay nothing any more; the visitor starts again from the bill."""


def attempt_of(session: Session, token: str | None) -> GuestAttempt | None:
    if not token:
        return None
    return session.scalar(select(GuestAttempt).where(GuestAttempt.token == token))


def _locked(session: Session, token: str) -> GuestAttempt:
    attempt = session.scalar(
        select(GuestAttempt)
        .where(GuestAttempt.token == token)
        .with_for_update()
        .execution_options(populate_existing=True)  # the row as of the lock: two submits count twice
    )
    if attempt is None:
        raise TryEnded(_("This payment was not started here. Choose the bill again."))
    return attempt


def payer_key(session: Session, wallet: str) -> str:
    """What the per-wallet rate limit counts: the resident the text names, however it was typed."""
    payer = _payer(session, wallet)
    return f"user:{payer.id}" if payer else "nobody:" + "".join(wallet.split())[-40:]


def _payer(session: Session, wallet: str) -> User | None:
    """The resident whose wallet this number or mobile names, if any (the answer is never shown)."""
    user_id = user_id_of_wallet_number(wallet)
    if user_id is not None:
        user = session.get(User, user_id)
    else:
        phone = normalize_mobile(wallet)
        user = session.scalar(select(User).where(User.phone == phone)) if phone else None
    if user is None or user.role is not Role.RESIDENT or not user.is_active:
        return None
    return user


def _digest(token: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{token}\0{code}".encode(), hashlib.sha256).hexdigest()
