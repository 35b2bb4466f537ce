"""Daily roll-ups of how residents pay, kept by the worker (portal.analytics.rollup).

Every table is keyed by a Beijing day and rebuilt whole for that day from the raw rows, so a roll-up is
idempotent and can be re-run for any day; the pages read these tables, never the payments, so their cost
follows the days shown, not the years stored. Each row keeps how many residents its figures come from
(``residents``, and for a figure about some of them, how many those are), which decides whether a page
may show them (portal.analytics.privacy). No row names a resident: there are no user ids here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, string_enum
from portal.payments.models import PaymentChannel


class RolledDay(Base):
    """A day the roll-ups hold. ``stale``: something of that day changed since (a refund of one of its
    payments); the worker rolls it up again."""

    __tablename__ = "analytics_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    rolled_at: Mapped[datetime | None]
    stale: Mapped[bool] = mapped_column(default=True)
    stale_marks: Mapped[int] = mapped_column(default=0)  # how often marked stale: a roll-up compares it


class AdoptionDay(Base):
    """Take-up of the portal and its wallet on one day."""

    __tablename__ = "analytics_adoption_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    registrations: Mapped[int] = mapped_column(default=0)  # resident accounts opened
    verified: Mapped[int] = mapped_column(default=0)  # residents who verified their identity
    wallets_funded: Mapped[int] = mapped_column(default=0)  # wallets topped up for the first time
    top_ups: Mapped[int] = mapped_column(default=0)
    top_up_fen: Mapped[int] = mapped_column(default=0)
    top_up_residents: Mapped[int] = mapped_column(default=0)  # wallets that topped up
    payments: Mapped[int] = mapped_column(default=0)  # by residents (not counter payments)
    payment_fen: Mapped[int] = mapped_column(default=0)
    payers: Mapped[int] = mapped_column(default=0)  # residents who paid: the day's active payers
    first_payers: Mapped[int] = mapped_column(default=0)  # residents whose first payment this was


class PeriodPayers(Base):
    """Active payers of a week (Monday first) or a calendar month: distinct residents, which days cannot
    add up to, counted again whenever a day of the period is rolled up."""

    __tablename__ = "analytics_period_payers"

    grain: Mapped[str] = mapped_column(String(5), primary_key=True)  # "week" or "month"
    start: Mapped[date] = mapped_column(primary_key=True)
    payers: Mapped[int] = mapped_column(default=0)


class ChannelDay(Base):
    """Payments of one day by the channel they came through."""

    __tablename__ = "analytics_channel_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[PaymentChannel] = mapped_column(
        string_enum(PaymentChannel, "payment_channel", length=16), primary_key=True
    )
    payments: Mapped[int] = mapped_column(default=0)
    lines: Mapped[int] = mapped_column(default=0)
    multi_bill: Mapped[int] = mapped_column(default=0)  # payments of more than one bill
    amount_fen: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    residents: Mapped[int] = mapped_column(default=0)  # distinct payers; a counter payment counts as one
    refund_residents: Mapped[int] = mapped_column(default=0)  # of those, payers refunded something
    multi_bill_residents: Mapped[int] = mapped_column(default=0)  # payers of a payment of several bills


class AgencyDay(Base):
    """Bills paid on one day, by agency: how many were paid late (with a late fee)."""

    __tablename__ = "analytics_agency_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    lines: Mapped[int] = mapped_column(default=0)
    late_lines: Mapped[int] = mapped_column(default=0)
    amount_fen: Mapped[int] = mapped_column(default=0)
    residents: Mapped[int] = mapped_column(default=0)
    waited_residents: Mapped[int] = mapped_column(default=0)  # of those, payers of bills the portal holds
    late_residents: Mapped[int] = mapped_column(default=0)  # of those, payers of a bill paid late


class DelayDay(Base):
    """Bills paid on one day by agency and by whole days from the bill's issue to its payment: a
    histogram, so medians and percentiles over any range of days are exact."""

    __tablename__ = "analytics_delay_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    delay_days: Mapped[int] = mapped_column(primary_key=True)
    lines: Mapped[int] = mapped_column(default=0)


class HourDay(Base):
    """Payments of one day by the Beijing hour they were made in (the weekday is the day's)."""

    __tablename__ = "analytics_hour_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(primary_key=True)
    payments: Mapped[int] = mapped_column(default=0)
    residents: Mapped[int] = mapped_column(default=0)


class CohortMonth(Base):
    """Residents active in a month by the month of their first payment: the cohort table's cells,
    written again whenever a day of the active month is rolled up."""

    __tablename__ = "analytics_cohorts"

    cohort_month: Mapped[date] = mapped_column(primary_key=True)  # the first day of the first payment's month
    active_month: Mapped[date] = mapped_column(primary_key=True)
    payers: Mapped[int] = mapped_column(default=0)


class CampaignFigures(Base):
    """One campaign against the same number of days before it, the new payers it brought and how many of
    them paid again in the months after; the worker keeps it while the campaign runs and for the three
    months after it."""

    __tablename__ = "analytics_campaigns"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    rolled_at: Mapped[datetime]
    days: Mapped[int] = mapped_column(default=0)  # of the period so far, and of the period before it
    payments_during: Mapped[int] = mapped_column(default=0)
    payers_during: Mapped[int] = mapped_column(default=0)
    amount_during_fen: Mapped[int] = mapped_column(default=0)
    payments_before: Mapped[int] = mapped_column(default=0)
    payers_before: Mapped[int] = mapped_column(default=0)
    amount_before_fen: Mapped[int] = mapped_column(default=0)
    uses: Mapped[int] = mapped_column(default=0)  # payments it discounted
    users: Mapped[int] = mapped_column(default=0)  # residents it discounted
    cost_fen: Mapped[int] = mapped_column(default=0)  # its discounts, less what refunds gave back
    new_payers: Mapped[int] = mapped_column(default=0)  # residents whose first payment it discounted
    kept_month_1: Mapped[int] = mapped_column(default=0)  # of those, paid in the month after the first
    kept_month_2: Mapped[int] = mapped_column(default=0)
    kept_month_3: Mapped[int] = mapped_column(default=0)
