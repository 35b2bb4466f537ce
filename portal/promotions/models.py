"""Promotion campaigns and each use of one: the discount a payment received from a campaign's budget."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.db import Base, string_enum, utcnow


class CampaignRule(enum.StrEnum):
    FIXED_OFF = "fixed_off"  # amount_off_fen off every eligible payment
    PERCENT_OFF = "percent_off"  # percent_bp of the eligible amount, at most cap_fen
    SPEND_OVER = "spend_over"  # amount_off_fen off once the eligible amount reaches threshold_fen
    FIRST_PAYMENT = "first_payment"  # amount_off_fen off a resident's first wallet payment of a bill


class CampaignState(enum.StrEnum):
    PENDING = "pending"  # created, waiting for a second admin
    ACTIVE = "active"  # approved and funded: gives discounts within its period while budget lasts
    REJECTED = "rejected"  # the second admin said no; nothing was funded
    ENDED = "ended"  # stopped early by an admin


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("budget_fen > 0", name="budget_positive"),
        CheckConstraint("spent_fen >= 0 AND spent_fen <= budget_fen", name="spent_within_budget"),
        CheckConstraint("per_resident_uses > 0", name="uses_positive"),
        CheckConstraint("ends_at > starts_at", name="period_forward"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # names the budget account in the ledger
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[datetime]  # UTC start of the first Beijing day
    ends_at: Mapped[datetime]  # UTC end (exclusive) of the last Beijing day
    agency_codes: Mapped[str] = mapped_column(Text, default="")  # space-separated; empty with no
    categories: Mapped[str] = mapped_column(String(100), default="")  # categories either: every bill
    rule: Mapped[CampaignRule] = mapped_column(string_enum(CampaignRule, "campaign_rule"))
    amount_off_fen: Mapped[int] = mapped_column(default=0)
    percent_bp: Mapped[int] = mapped_column(default=0)  # basis points: 1,000 = 10 %
    cap_fen: Mapped[int] = mapped_column(default=0)
    threshold_fen: Mapped[int] = mapped_column(default=0)
    per_resident_uses: Mapped[int] = mapped_column(default=1)
    budget_fen: Mapped[int]
    spent_fen: Mapped[int] = mapped_column(default=0)  # discounts given less those refunds returned
    # what was left when it stopped, moved back to the promotion fund (budget_return transfers)
    returned_to_fund_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    state: Mapped[CampaignState] = mapped_column(
        string_enum(CampaignState, "campaign_state"), default=CampaignState.PENDING
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    proposer: Mapped[User] = relationship(foreign_keys=[created_by_id])
    decider: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def name_for(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh

    @property
    def remaining_fen(self) -> int:
        """What its budget account holds."""
        return self.budget_fen - self.spent_fen - self.returned_to_fund_fen


class CampaignUse(Base):
    """One payment's discount from one campaign, spread over the payment's bills (payment_items)."""

    __tablename__ = "campaign_uses"
    __table_args__ = (
        Index("ix_campaign_uses_campaign_user", "campaign_id", "user_id"),
        CheckConstraint("discount_fen > 0", name="discount_positive"),
        CheckConstraint("returned_fen >= 0 AND returned_fen <= discount_fen", name="returned_within"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)  # one per payment
    discount_fen: Mapped[int]
    returned_fen: Mapped[int] = mapped_column(default=0)  # given back to the budget by refunds
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    campaign: Mapped[Campaign] = relationship()
