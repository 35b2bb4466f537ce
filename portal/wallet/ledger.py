"""Low-level ledger moves: lock accounts in id order, post a balanced transfer, keep cached balances.

Callers hold the locks until their transaction ends; the checks they make under the locks (balance,
limits) therefore still hold when the entries are written.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.money import MAX_AMOUNT_FEN
from portal.wallet.errors import WalletError, WalletNotFound
from portal.wallet.models import AccountKind, Entry, LedgerAccount, Transfer, TransferKind

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread on the phone


def new_reference(prefix: str) -> str:
    """'T' + 16 random characters (80 bits): unique and not guessable in sequence.
    256 is a multiple of the alphabet's 32 letters, so byte % 32 is unbiased."""
    return prefix + "".join(REFERENCE_ALPHABET[byte % 32] for byte in secrets.token_bytes(16))


def valid_amount(amount_fen: object, field: str = "amount") -> int:
    """A positive whole number of fen within MAX_AMOUNT_FEN; anything else (floats, strings, booleans,
    NaN, infinity) is refused with the same clear error."""
    if (
        isinstance(amount_fen, bool)
        or not isinstance(amount_fen, int)
        or not 0 < amount_fen <= MAX_AMOUNT_FEN
    ):
        raise WalletError("invalid_amount", field=field)
    return amount_fen


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
    """The account, made on first use. Two transactions making the same one at once (two cashiers'
    first cash-ups of a hall) both go on: the later insert waits for the earlier, then reads its row."""
    account = find_account(session, kind, owner)
    if account is not None:
        return account
    try:
        with session.begin_nested():
            account = LedgerAccount(kind=kind, owner_ref=owner, **values)
            session.add(account)
            session.flush()  # the id orders locks and keys the entries
    except IntegrityError:
        account = find_account(session, kind, owner)
        if account is None:
            raise
    return account


def lock_order(kind_column, id_column):
    """The one lock order of the ledger: the resident wallet first, then the other accounts by id.
    Every transfer touches at most one wallet, so no two transfers can wait on each other in a cycle."""
    return (kind_column != AccountKind.RESIDENT_WALLET.value, id_column)


def lock(session: Session, accounts: Iterable[LedgerAccount]) -> None:
    """SELECT ... FOR UPDATE in the ledger's lock order, refreshing the cached rows.
    On SQLite the whole write transaction already holds the database lock (BEGIN IMMEDIATE)."""
    ids = sorted({account.id for account in accounts})
    session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.id.in_(ids))
        .order_by(*lock_order(LedgerAccount.kind, LedgerAccount.id))
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


ACCOUNTS = LedgerAccount.__table__
TRANSFERS = Transfer.__table__
ENTRIES = Entry.__table__


def lock_for_payment(
    session: Session, owner: str, agency_owners: list[str]
) -> tuple[SimpleNamespace, dict[str, SimpleNamespace]]:
    """Find and lock a wallet and agency accounts in ONE SELECT ... FOR UPDATE, in id order."""
    rows = session.execute(
        select(ACCOUNTS)
        .where(
            or_(
                and_(ACCOUNTS.c.kind == AccountKind.RESIDENT_WALLET.value, ACCOUNTS.c.owner_ref == owner),
                and_(
                    ACCOUNTS.c.kind == AccountKind.AGENCY_SETTLEMENT.value,
                    ACCOUNTS.c.owner_ref.in_(agency_owners),
                ),
            )
        )
        .order_by(*lock_order(ACCOUNTS.c.kind, ACCOUNTS.c.id))
        .with_for_update()
    ).mappings()
    wallet, agencies = None, {}
    for row in rows:
        state = SimpleNamespace(**row)
        if state.kind == AccountKind.RESIDENT_WALLET:
            wallet = state
        else:
            agencies[state.owner_ref] = state
    if wallet is None:
        raise WalletNotFound("wallet_not_found")
    for agency in agency_owners:
        if agency not in agencies:
            raise WalletNotFound("account_not_found", account=agency)
    return wallet, agencies


def post_fast(
    session: Session,
    kind: TransferKind,
    moves: Sequence[tuple[SimpleNamespace, int]],
    *,
    actor: str,
    description: str,
    now: datetime,
    wallet_spent: tuple[int, str, int],
) -> SimpleNamespace:
    """post() in Core statements for locked account rows read by lock_for_payment()."""
    if sum(amount for _account, amount in moves) != 0 or any(amount == 0 for _account, amount in moves):
        raise WalletError("invalid_amount")
    reference = new_reference("T")
    transfer_id = session.execute(
        insert(TRANSFERS)
        .values(
            reference=reference,
            kind=kind.value,
            amount_fen=sum(amount for _account, amount in moves if amount > 0),
            description=description[:200],
            actor=actor[:64],
            created_at=now,
        )
        .returning(TRANSFERS.c.id)
    ).scalar_one()
    ordered = sorted(moves, key=lambda move: move[0].id)
    session.execute(
        insert(ENTRIES),
        [
            {
                "transfer_id": transfer_id,
                "account_id": account.id,
                "amount_fen": amount,
                "balance_after_fen": account.balance_fen + amount,
                "created_at": now,
            }
            for account, amount in ordered
        ],
    )
    wallet_id, spent_day, spent_fen = wallet_spent
    for account, amount in ordered:
        values = {"balance_fen": account.balance_fen + amount}
        if account.id == wallet_id:
            values.update(spent_day=spent_day, spent_day_fen=spent_fen)
        session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == account.id).values(**values))
    expire_cached_accounts(session, {account.id for account, _amount in moves})
    return SimpleNamespace(id=transfer_id, reference=reference, created_at=now)


def expire_cached_accounts(session: Session, account_ids: set[int] | None = None) -> None:
    """ORM copies of rows written through Core would be stale: expire them so they reload."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, LedgerAccount) and (account_ids is None or instance.id in account_ids):
            session.expire(instance)
