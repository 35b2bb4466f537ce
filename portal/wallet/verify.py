"""Invariants of the whole ledger, checked by `flask --app portal wallet verify`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.wallet.models import AccountKind, Entry, Hold, HoldStatus, IdempotencyRecord, LedgerAccount


def ledger_violations(session: Session) -> list[str]:
    """Every broken invariant, one line each; an empty list means the ledger is sound."""
    return [
        *_unbalanced_transfers(session),
        *_stale_balances(session),
        *_negative_wallets(session),
        *_stale_holds(session),
    ]


def _unbalanced_transfers(session: Session) -> list[str]:
    rows = session.execute(
        select(Entry.transfer_id, func.sum(Entry.amount_fen))
        .group_by(Entry.transfer_id)
        .having(func.sum(Entry.amount_fen) != 0)
    ).all()
    return [f"transfer {transfer_id}: entries sum to {total} fen, not 0" for transfer_id, total in rows]


def _stale_balances(session: Session) -> list[str]:
    sums = (
        select(Entry.account_id, func.sum(Entry.amount_fen).label("total"))
        .group_by(Entry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            LedgerAccount.id,
            LedgerAccount.owner_ref,
            LedgerAccount.balance_fen,
            func.coalesce(sums.c.total, 0),
        )
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.balance_fen != func.coalesce(sums.c.total, 0))
    ).all()
    return [
        f"account {id_} ({owner}): cached balance {cached} fen, entries sum to {total} fen"
        for id_, owner, cached, total in rows
    ]


def _negative_wallets(session: Session) -> list[str]:
    rows = session.execute(
        select(LedgerAccount.id, LedgerAccount.owner_ref, LedgerAccount.balance_fen).where(
            LedgerAccount.kind == AccountKind.RESIDENT_WALLET, LedgerAccount.balance_fen < 0
        )
    ).all()
    entries = session.execute(
        select(Entry.id, Entry.account_id, Entry.balance_after_fen)
        .join(LedgerAccount, Entry.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == AccountKind.RESIDENT_WALLET, Entry.balance_after_fen < 0)
    ).all()
    return [f"wallet {id_} ({owner}) is below zero: {balance} fen" for id_, owner, balance in rows] + [
        f"entry {entry_id} took wallet {account_id} below zero: {after} fen"
        for entry_id, account_id, after in entries
    ]


def _stale_holds(session: Session) -> list[str]:
    sums = (
        select(Hold.account_id, func.sum(Hold.amount_fen).label("total"))
        .where(Hold.status == HoldStatus.ACTIVE)
        .group_by(Hold.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            LedgerAccount.id,
            LedgerAccount.owner_ref,
            LedgerAccount.held_fen,
            LedgerAccount.balance_fen,
            func.coalesce(sums.c.total, 0),
        )
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(
            (LedgerAccount.held_fen != func.coalesce(sums.c.total, 0))
            | (
                (LedgerAccount.kind == AccountKind.RESIDENT_WALLET)
                & (LedgerAccount.held_fen > LedgerAccount.balance_fen)
            )
        )
    ).all()
    return [
        f"account {id_} ({owner}): {held} fen held, active holds sum to {total} fen, balance {balance} fen"
        for id_, owner, held, balance, total in rows
    ]


def purge_idempotency_keys(session: Session, *, older_than_days: int) -> int:
    """Delete idempotency records older than the retention period; returns how many."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return result.rowcount or 0
