"""The double-entry ledger: accounts, immutable transfers and their entries, holds, idempotency records.

Sign convention: an entry's amount is what it adds to its account's balance. Money entering a resident
wallet from the bank is +X on the wallet and -X on the funding clearing account; every transfer's
entries sum to zero (checked by the service, by `wallet verify`, and on PostgreSQL by a deferred
constraint trigger).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, string_enum, utcnow


class AccountKind(enum.StrEnum):
    RESIDENT_WALLET = "resident_wallet"
    AGENCY_SETTLEMENT = "agency_settlement"
    FUNDING_CLEARING = "funding_clearing"
    PROMOTION_BUDGET = "promotion_budget"
    SUSPENSE = "suspense"
    COUNTER_TILL = "counter_till"  # the cash of one cashier's shift at a service hall (portal.counter)
    HALL_BANK = "hall_bank"  # a service hall's bank account, where the cash of a closed shift goes
    COUNTER_DIFFERENCE = "counter_difference"  # cash counted short or over at cash-ups
    COUNTER_REFUND_DUE = "counter_refund_due"  # counter payments an agency refused, owed back to the payer


class TransferKind(enum.StrEnum):
    TOP_UP = "top_up"
    WITHDRAWAL = "withdrawal"
    PAYMENT = "payment"
    REFUND = "refund"
    SETTLEMENT = "settlement"
    ADJUSTMENT = "adjustment"
    BUDGET_FUNDING = "budget_funding"  # money for a promotion campaign enters its budget account
    DISCOUNT = "discount"  # a campaign's share of a payment: budget -> agency
    DISCOUNT_RETURN = "discount_return"  # the campaign's share of a refund: agency -> budget
    BUDGET_RETURN = "budget_return"  # what a stopped campaign did not spend: budget -> promotion fund
    CASH_HANDOVER = "cash_handover"  # a closed shift's counted cash: hall bank account -> till
    CASH_DIFFERENCE = "cash_difference"  # what a till was short or over at its cash-up


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_ref", name="uq_ledger_accounts_kind_owner"),
        CheckConstraint("kind != 'resident_wallet' OR balance_fen >= 0", name="wallet_not_negative"),
        # On PostgreSQL only (added by migration 0014; SQLite would have to rebuild the table): the
        # service checks it under the row lock on both.
        CheckConstraint("kind != 'promotion_budget' OR balance_fen >= 0", name="budget_not_negative"),
        CheckConstraint(
            "held_fen >= 0 AND held_fen <= balance_fen OR kind != 'resident_wallet'", name="holds_covered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(string_enum(AccountKind, "account_kind", length=24))
    owner_ref: Mapped[str] = mapped_column(String(64))  # "user:17", "agency:water", "bank:sandbox"
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    balance_fen: Mapped[int] = mapped_column(default=0)  # cache of the sum of this account's entries
    held_fen: Mapped[int] = mapped_column(default=0)  # cache of the sum of this account's active holds
    # Payments (and holds) so far on one Asia/Shanghai day, for the daily limit: a cache of the entries.
    spent_day: Mapped[str] = mapped_column(String(10), default="")
    spent_day_fen: Mapped[int] = mapped_column(default=0)
    tier: Mapped[str] = mapped_column(String(20), default="basic")
    is_frozen: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """Immutable once written; a correction is a new transfer (a refund or an adjustment)."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        # Only refunds and corrections have a related transfer: payments stay out of this index.
        Index(
            "ix_ledger_transfers_related_transfer_id",
            "related_transfer_id",
            postgresql_where=text("related_transfer_id IS NOT NULL"),
            sqlite_where=text("related_transfer_id IS NOT NULL"),
        ),
        # A one-statement payment keeps its idempotency key here instead of in a record of its own.
        Index(
            "uq_ledger_transfers_idempotency_key",
            "idempotency_client",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[TransferKind] = mapped_column(string_enum(TransferKind, "transfer_kind", length=24))
    amount_fen: Mapped[int]  # what left the paying side; equals the sum of the positive entries
    related_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    description: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64))  # who asked: "portal:user:17", "api:billing"
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set only by the one-statement payment (pg_payment.py); every other operation keeps a record.
    idempotency_client: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    entries: Mapped[list[Entry]] = relationship(back_populates="transfer", order_by="Entry.id")


class Entry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_fen != 0", name="amount_not_zero"),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
        Index("ix_ledger_entries_account_created", "account_id", "created_at"),  # settlement's day sums
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfers.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_fen: Mapped[int]
    balance_after_fen: Mapped[int]  # the account's balance right after this entry: the statement's column
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    transfer: Mapped[Transfer] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship()


class Hold(Base):
    """Funds reserved on a wallet (TigerBeetle's pending transfer): captured, released, or expired."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_ledger_holds_account_id_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_fen: Mapped[int]
    status: Mapped[HoldStatus] = mapped_column(
        string_enum(HoldStatus, "hold_status", length=24), default=HoldStatus.ACTIVE
    )
    expires_at: Mapped[datetime]
    capture_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    account: Mapped[LedgerAccount] = relationship()


class IdempotencyRecord(Base):
    """One per (client, key): the hash of the first request and its result, kept at least 30 days.
    A one-statement payment keeps its key on its transfer instead (kept as long as the transfer)."""

    __tablename__ = "ledger_idempotency"
    __table_args__ = (UniqueConstraint("client", "key", name="uq_ledger_idempotency_client_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    operation: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    result_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BankCard(Base):
    """A bank card linked through the funding gateway; only a token and the masked number are kept."""

    __tablename__ = "wallet_bank_cards"
    __table_args__ = (UniqueConstraint("account_id", "token", name="uq_wallet_bank_cards_account_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(64))
    masked_number: Mapped[str] = mapped_column(String(32))
    bank_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiRequestSeen(Base):
    """Nonces of API requests inside the replay window: the same signed request is refused twice."""

    __tablename__ = "wallet_api_seen"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(130), unique=True)  # "client:nonce"
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
