"""What the resident pages ask of the wallet, whichever client (in-process or HTTP) serves it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import screening
from portal.accounts.models import User, VerificationTier
from portal.audit.services import record
from portal.wallet.owners import wallet_owner
from portal.wallet.types import Balance, CardView, StatementLine, TransferResult

KIND_LABELS = {
    "top_up": _l("Top-up"),
    "withdrawal": _l("Withdrawal"),
    "payment": _l("Bill payment"),
    "refund": _l("Refund"),
    "settlement": _l("Settlement"),
    "adjustment": _l("Adjustment"),
}
EXPORT_PAGE_SIZE = 500


def ensure_wallet(wallet, user: User) -> Balance:
    """Open the resident's wallet on first use and keep its tier in step with the identity checks."""
    owner = wallet_owner(user)
    balance = wallet.open_wallet(owner, user.verification_tier.value)
    if balance.tier != user.verification_tier.value:
        balance = wallet.set_tier(owner, user.verification_tier.value)
    return balance


def link_card(wallet, user: User, card_number: str) -> CardView:
    """Link a bank card; an ID-verified resident with a card reaches the highest tier."""
    ensure_wallet(wallet, user)
    card = wallet.link_card(wallet_owner(user), card_number)
    _card_tier(wallet, user)
    record(
        Session.object_session(user),
        f"user:{user.id}",
        "wallet.card_linked",
        f"user:{user.id}",
        card=card.masked_number,
    )
    return card


def identity_verified(wallet, user: User) -> None:
    """A resident who linked a card before proving their identity reaches the highest tier now."""
    ensure_wallet(wallet, user)
    if wallet.cards(wallet_owner(user)).cards:
        _card_tier(wallet, user)


def _card_tier(wallet, user: User) -> None:
    if user.verification_tier is VerificationTier.ID_VERIFIED:
        user.verification_tier = VerificationTier.ID_AND_CARD
        wallet.set_tier(wallet_owner(user), user.verification_tier.value)


def top_up(
    wallet, session: Session, user: User, amount_fen: int, card: str, idempotency_key: str
) -> TransferResult:
    ensure_wallet(wallet, user)
    screening.screen(session, user, screening.TOP_UP, amount_fen)
    result = wallet.top_up(wallet_owner(user), amount_fen, card=card, idempotency_key=idempotency_key)
    return _audited(session, user, "wallet.top_up", result)


def withdraw(
    wallet, session: Session, user: User, amount_fen: int, card: str, idempotency_key: str
) -> TransferResult:
    ensure_wallet(wallet, user)
    screening.screen(session, user, screening.WITHDRAWAL, amount_fen)
    result = wallet.withdraw(wallet_owner(user), amount_fen, card=card, idempotency_key=idempotency_key)
    return _audited(session, user, "wallet.withdrawal", result)


def _audited(session: Session, user: User, action: str, result: TransferResult) -> TransferResult:
    """The portal's audit log holds every move a resident made (a replayed form is the same move)."""
    if not result.replayed:
        record(
            session, f"user:{user.id}", action, f"transfer:{result.reference}", amount_fen=result.amount_fen
        )
    return result


def all_lines(
    wallet, user: User, *, kind: str | None, date_from: date | None, date_to: date | None
) -> Iterator[StatementLine]:
    """Every matching statement line, fetched a page at a time (never the whole history in memory)."""
    page = 1
    while True:
        batch = wallet.statement(
            wallet_owner(user),
            page=page,
            per_page=EXPORT_PAGE_SIZE,
            kind=kind,
            date_from=date_from,
            date_to=date_to,
        )
        yield from batch.lines
        if page >= batch.pages:
            return
        page += 1
