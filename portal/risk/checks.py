"""Running the rules on an operation before it moves money: its hits become one flag in the caller's
transaction; a hit of a blocking rule refuses the operation (the flag stays: the view commits it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.audit.services import record
from portal.db import utcnow
from portal.payments.models import Payment, PaymentItem
from portal.risk.findings import Hit, encode
from portal.risk.models import FlagStatus, RiskFlag
from portal.risk.rules import HISTORY_DAYS, RULES, Move, Operation
from portal.screening import Blocked
from portal.wallet.models import AccountKind, Entry, LedgerAccount, Transfer, TransferKind
from portal.wallet.owners import wallet_owner

MOVES = (TransferKind.TOP_UP, TransferKind.PAYMENT, TransferKind.WITHDRAWAL)


class RiskBlocked(Blocked):
    """A blocking rule refused the operation; the resident is told to call the hotline, not which rule."""


def check(
    session: Session, user: User, kind: str, amount_fen: int, payers: Iterable[str] = ()
) -> RiskFlag | None:
    """One flag listing every rule the operation trips (None if it trips none); raises RiskBlocked after
    adding it if any of them blocks, so the officer reviews the operation once, with all it tripped."""
    settings = current_app.config["RISK_RULES"]
    operation = _operation(session, user, kind, amount_fen, frozenset(payers), settings)
    hits = []
    for name, rule in RULES.items():
        action = settings[name]["action"]
        if action == "off":
            continue
        params = {key: value for key, value in settings[name].items() if key != "action"}
        facts = rule(operation, **params)
        if facts is not None:
            hits.append(Hit(name, action == "block", facts))
    if not hits or _wallet_frozen(session, user):
        return None  # a frozen wallet refuses the operation anyway: no money moves, nothing to review
    flag = _flag(session, user, operation, hits)
    if flag.blocked:
        raise RiskBlocked(
            _("This operation was stopped by our safety checks. Call the hotline 12345 for help.")
        )
    return flag


def _wallet_frozen(session: Session, user: User) -> bool:
    """Asked only once a rule has tripped, so an ordinary operation pays no extra query."""
    return bool(
        session.scalar(
            select(LedgerAccount.is_frozen).where(
                LedgerAccount.kind == AccountKind.RESIDENT_WALLET,
                LedgerAccount.owner_ref == wallet_owner(user),
            )
        )
    )


def _flag(session: Session, user: User, op: Operation, hits: list[Hit]) -> RiskFlag:
    blocking = [hit.rule for hit in hits if hit.blocks]
    flag = RiskFlag(
        user_id=user.id,
        rule=(blocking or [hits[0].rule])[0],  # the main rule: the first that blocks, else the first hit
        operation=op.kind,
        amount_fen=op.amount_fen,
        blocked=bool(blocking),
        detail=encode(hits),
        status=FlagStatus.OPEN,
    )
    session.add(flag)
    action = "risk.blocked" if blocking else "risk.flagged"
    rules = [hit.rule for hit in hits]
    record(
        session, "system", action, f"user:{user.id}", rules=rules, operation=op.kind, amount_fen=op.amount_fen
    )
    return flag


def _operation(session: Session, user: User, kind: str, amount_fen: int, payers, settings) -> Operation:
    now = utcnow()
    limits = current_app.config["WALLET_LIMITS"].get(user.verification_tier.value, {})
    payer_days = settings["many_payers"].get("days", HISTORY_DAYS)
    return Operation(
        kind=kind,
        amount_fen=amount_fen,
        at=now,
        history=history(session, user, now - timedelta(days=HISTORY_DAYS)),
        account_created_at=user.created_at,
        per_payment_limit_fen=limits.get("per_payment_fen", 0),
        payers=payers,
        recent_payers=_recent_payers(session, user, now - timedelta(days=payer_days)),
    )


def history(session: Session, user: User, since) -> list[Move]:
    """The resident's wallet moves since then, from the ledger (the in-process wallet's)."""
    rows = session.execute(
        select(Transfer.kind, Entry.amount_fen, Entry.created_at)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(
            LedgerAccount.kind == AccountKind.RESIDENT_WALLET,
            LedgerAccount.owner_ref == wallet_owner(user),
            Transfer.kind.in_(MOVES),
            Entry.created_at >= since,
        )
        .order_by(Entry.id)
    )
    return [Move(kind.value, abs(amount), at) for kind, amount, at in rows]


def _recent_payers(session: Session, user: User, since) -> frozenset[str]:
    names = session.scalars(
        select(PaymentItem.payer_name)
        .join(Payment, Payment.id == PaymentItem.payment_id)
        .where(Payment.user_id == user.id, Payment.paid_at >= since)
        .distinct()
    )
    return frozenset(names)
