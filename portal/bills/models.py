"""Bills held in the portal's own database, served by the `local` agency adapter."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.idcrypto import Sealed, current_vault
from portal.agencies.models import Agency
from portal.db import Base, string_enum, utcnow

SAVED_QUERY = "saved_query"  # the purpose bound into saved accounts' ciphertexts


class StoredBillStatus(enum.StrEnum):
    """What is stored; 'overdue' is derived from the due date when a bill is shown."""

    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("agency_id", "bill_no", name="uq_bills_agency_bill_no"),
        Index("ix_bills_agency_id_account_reference", "agency_id", "account_reference"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("late_fee_fen >= 0", name="late_fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    bill_no: Mapped[str] = mapped_column(String(40))
    account_reference: Mapped[str] = mapped_column(String(40))  # household account number (户号)
    payer_name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    period: Mapped[str] = mapped_column(String(20), default="")
    amount_fen: Mapped[int]
    late_fee_fen: Mapped[int] = mapped_column(default=0)
    due_date: Mapped[date | None]
    status: Mapped[StoredBillStatus] = mapped_column(
        string_enum(StoredBillStatus, "bill_status"),
        default=StoredBillStatus.UNPAID,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("bill_batches.id"), index=True)  # last loaded by

    agency: Mapped[Agency] = relationship()


class SavedAccount(Base):
    """A resident's household account, plate or taxpayer number at one agency, with a nickname.

    Query values the adapter declares sensitive (a taxpayer number may be a resident ID number) are kept
    only encrypted (portal/accounts/idcrypto.py); uniqueness rests on a blind index of all the values.
    Read them as ``query`` (portal/bills/services.py writes them)."""

    __tablename__ = "saved_accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "agency_id", "query_index", name="uq_saved_accounts_query"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    nickname: Mapped[str] = mapped_column(String(40))
    query_json: Mapped[str] = mapped_column(String(500))  # the values that are not sensitive, as sorted JSON
    query_sealed_key: Mapped[str | None] = mapped_column(String(16))  # the key id of query_sealed
    query_sealed: Mapped[str | None] = mapped_column(String(700))  # the sensitive values' JSON, encrypted
    query_index: Mapped[str] = mapped_column(String(64))  # HMAC of every value's sorted JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency] = relationship()

    @property
    def shown_query(self) -> list[str]:
        """The values that may be shown (a household number, a plate), to tell accounts apart."""
        return [str(value) for _name, value in sorted(json.loads(self.query_json).items())]

    @property
    def query(self) -> dict[str, str]:
        """Every query value, the sensitive ones decrypted with the app's keys."""
        values = json.loads(self.query_json)
        if self.query_sealed is not None and self.query_sealed_key is not None:
            sealed = Sealed(self.query_sealed_key, self.query_sealed)
            values.update(json.loads(current_vault().open(sealed, SAVED_QUERY)))
        return values
