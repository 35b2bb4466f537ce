"""Low-level ledger moves: lock accounts in id order, post a balanced transfer, keep cached balances.

Callers hold the locks until their transaction ends; the checks they make under the locks (balance,
limits) therefore still hold when the entries are written.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.wallet.errors import WalletError, WalletNotFound
from portal.wallet.models import AccountKind, Entry, LedgerAccount, Transfer, TransferKind

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread on the phone


def new_reference(prefix: str) -> str:
    """'T' + 16 random characters: unique and not guessable in sequence."""
    return prefix + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(16))


def find_account(session: Session, kind: AccountKind, owner: str) -> LedgerAccount | None:
    return session.scalar(
        select(LedgerAccount).where(LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner)
    )


def require_account(session: Session, kind: AccountKind, owner: str) -> LedgerAccount:
    account = find_account(session, kind, owner)
    if account is None:
        if kind is AccountKind.RESIDENT_WALLET:
            raise WalletNotFound("wallet_not_found")
        raise WalletNotFound("account_not_found", account=owner)
    return account


def ensure_account(session: Session, kind: AccountKind, owner: str, **values) -> LedgerAccount:
    account = find_account(session, kind, owner)
    if account is None:
        account = LedgerAccount(kind=kind, owner_ref=owner, **values)
        session.add(account)
        session.flush()  # the id orders locks and keys the entries
    return account


def lock(session: Session, accounts: Iterable[LedgerAccount]) -> None:
    """SELECT ... FOR UPDATE in id order (no deadlocks between transfers), refreshing the cached rows.
    On SQLite the whole write transaction already holds the database lock (BEGIN IMMEDIATE)."""
    ids = sorted({account.id for account in accounts})
    session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.id.in_(ids))
        .order_by(LedgerAccount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def post(
    session: Session,
    kind: TransferKind,
    legs: Sequence[tuple[LedgerAccount, int]],
    *,
    actor: str,
    description: str = "",
    related: Transfer | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Write one transfer with an entry per leg. The accounts must already be locked."""
    if sum(amount for _account, amount in legs) != 0 or any(amount == 0 for _account, amount in legs):
        raise WalletError("invalid_amount")
    moment = now or utcnow()
    transfer = Transfer(
        reference=new_reference("T"),
        kind=kind,
        amount_fen=sum(amount for _account, amount in legs if amount > 0),
        related_transfer_id=related.id if related else None,
        description=description[:200],
        actor=actor[:64],
        created_at=moment,
    )
    session.add(transfer)
    for account, amount in sorted(legs, key=lambda leg: leg[0].id):
        account.balance_fen += amount
        transfer.entries.append(
            Entry(
                account=account, amount_fen=amount, balance_after_fen=account.balance_fen, created_at=moment
            )
        )
    session.flush()  # writes entries and balances now, so a violated CHECK surfaces inside the retry loop
    return transfer
