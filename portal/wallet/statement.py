"""A wallet's statement: its entries, newest first, with the running balance and filters."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.clock import day_bounds
from portal.wallet.models import Entry, LedgerAccount, Transfer, TransferKind
from portal.wallet.types import StatementLine, StatementPage

MAX_PAGE = 1_000_000


def read_statement(
    session: Session,
    wallet: LedgerAccount,
    *,
    page: int = 1,
    per_page: int = 20,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> StatementPage:
    """Dates are Asia/Shanghai days, both inclusive; at most 500 lines a page."""
    # Clamped here, for every caller: a huge page number would overflow the database's OFFSET.
    page, per_page = min(max(1, int(page)), MAX_PAGE), min(max(1, int(per_page)), 500)
    query = (
        select(Entry, Transfer)
        .join(Transfer, Entry.transfer_id == Transfer.id)
        .where(Entry.account_id == wallet.id)
    )
    if kind:
        query = query.where(Transfer.kind == TransferKind(kind))
    if date_from:
        query = query.where(Entry.created_at >= day_bounds(date_from)[0])
    if date_to:
        query = query.where(Entry.created_at < day_bounds(date_to)[1])
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Entry.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    lines = tuple(
        StatementLine(
            reference=transfer.reference,
            kind=transfer.kind.value,
            amount_fen=entry.amount_fen,
            balance_after_fen=entry.balance_after_fen,
            description=transfer.description,
            created_at=entry.created_at,
        )
        for entry, transfer in rows
    )
    return StatementPage(lines=lines, page=page, per_page=per_page, total=total)
