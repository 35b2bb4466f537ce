"""What the analytics pages show, read from the daily roll-ups only (never the payments), every figure
carrying the residents it comes from (portal.analytics.privacy).

Weeks (Monday first) and months are whole: a range asked for by week or month is widened to the periods
it touches, so each period's distinct payers are exact (analytics_period_payers).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency, AgencyCategory
from portal.analytics.models import (
    AdoptionDay,
    AgencyDay,
    CampaignFigures,
    ChannelDay,
    CohortMonth,
    DelayDay,
    HourDay,
    PeriodPayers,
)
from portal.analytics.privacy import Figure, count
from portal.analytics.rollup import month_start, period_end, week_start
from portal.clock import aware, business_day, day_bounds
from portal.db import utcnow
from portal.payments.models import PaymentChannel
from portal.promotions.models import Campaign

GRAINS = ("day", "week", "month")
MAX_PERIODS = 400  # rows of one page: over a year by day, over decades by month


@dataclass(frozen=True)
class Span:
    """The days a page covers, widened to whole periods of its grain."""

    start: date
    end: date  # the last day, included
    grain: str

    @classmethod
    def of(cls, start: date, end: date, grain: str) -> Span:
        if grain == "week":
            return cls(week_start(start), period_end("week", week_start(end)) - timedelta(days=1), grain)
        if grain == "month":
            return cls(month_start(start), period_end("month", month_start(end)) - timedelta(days=1), grain)
        return cls(start, end, "day")

    def period_of(self, day: date) -> date:
        return {"week": week_start, "month": month_start}.get(self.grain, lambda d: d)(day)

    def periods(self) -> list[date]:
        found, day = [], self.start
        while day <= self.end and len(found) < MAX_PERIODS:
            found.append(day)
            day = day + timedelta(days=1) if self.grain == "day" else period_end(self.grain, day)
        return found


@dataclass(frozen=True)
class AdoptionRow:
    start: date
    registrations: Figure
    verified: Figure
    wallets_funded: Figure
    top_ups: Figure
    top_up_fen: Figure
    payments: Figure
    payment_fen: Figure
    payers: Figure  # active payers of the period
    first_payers: Figure


ADOPTION_SUMS = (
    "registrations",
    "verified",
    "wallets_funded",
    "top_ups",
    "top_up_fen",
    "payments",
    "payment_fen",
)


def adoption(session: Session, span: Span) -> list[AdoptionRow]:
    """One row per period, oldest first; periods with nothing are rows of zeros."""
    days = session.scalars(
        select(AdoptionDay).where(AdoptionDay.day >= span.start, AdoptionDay.day <= span.end)
    )
    sums: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    most: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # the largest day's residents
    for row in days:
        period = span.period_of(row.day)
        for name in (*ADOPTION_SUMS, "first_payers", "payers"):
            sums[period][name] += getattr(row, name)
        most[period]["top_up"] = max(most[period]["top_up"], row.top_up_residents)
        most[period]["payers"] = max(most[period]["payers"], row.payers)
    exact = {}
    if span.grain != "day":
        exact = {
            row.start: row.payers
            for row in session.scalars(
                select(PeriodPayers).where(
                    PeriodPayers.grain == span.grain,
                    PeriodPayers.start >= span.start,
                    PeriodPayers.start <= span.end,
                )
            )
        }
    rows = []
    for period in span.periods():
        total = sums[period]
        payers = exact.get(period, 0) if span.grain != "day" else total["payers"]
        rows.append(
            AdoptionRow(
                start=period,
                registrations=count(total["registrations"]),
                verified=count(total["verified"]),
                wallets_funded=count(total["wallets_funded"]),
                top_ups=Figure(total["top_ups"], most[period]["top_up"]),
                top_up_fen=Figure(total["top_up_fen"], most[period]["top_up"]),
                payments=Figure(total["payments"], max(payers, most[period]["payers"])),
                payment_fen=Figure(total["payment_fen"], max(payers, most[period]["payers"])),
                payers=count(payers),
                first_payers=count(total["first_payers"]),  # a resident pays for the first time once
            )
        )
    return rows


@dataclass(frozen=True)
class ChannelRow:
    channel: PaymentChannel
    payments: Figure
    share_percent: Figure  # of all payments in the span
    lines: Figure
    multi_bill: Figure  # payments of more than one bill
    amount_fen: Figure
    refunded_fen: Figure


def channels(session: Session, span: Span) -> list[ChannelRow]:
    summed = ("payments", "lines", "multi_bill", "amount_fen", "refunded_fen")
    most = ("residents", "refund_residents", "multi_bill_residents")  # the largest day's, of each
    found = session.execute(
        select(
            ChannelDay.channel,
            *(func.sum(getattr(ChannelDay, name)) for name in summed),
            *(func.max(getattr(ChannelDay, name)) for name in most),
        )
        .where(ChannelDay.day >= span.start, ChannelDay.day <= span.end)
        .group_by(ChannelDay.channel)
    )
    sums: dict[PaymentChannel, dict[str, int]] = {
        row[0]: dict(zip((*summed, *most), map(int, row[1:]), strict=True)) for row in found
    }
    everything = sum(cell["payments"] for cell in sums.values())
    rows = []
    for channel in PaymentChannel:
        if channel not in sums:
            continue
        cell = sums[channel]

        def figure(value: int, cell=cell) -> Figure:
            return Figure(value, cell["residents"])

        rows.append(
            ChannelRow(
                channel=channel,
                payments=figure(cell["payments"]),
                share_percent=figure(round(100 * cell["payments"] / everything) if everything else 0),
                lines=figure(cell["lines"]),
                multi_bill=Figure(cell["multi_bill"], cell["multi_bill_residents"]),
                amount_fen=figure(cell["amount_fen"]),
                refunded_fen=Figure(cell["refunded_fen"], cell["refund_residents"]),
            )
        )
    return rows


@dataclass(frozen=True)
class PunctualityRow:
    """Bills of one agency (or one category) paid in the span: on time, late, and how long they waited."""

    label: str
    lines: Figure
    late_lines: Figure
    late_percent: Figure
    median_days: Figure | None  # None: no bill of theirs the portal holds was paid
    p90_days: Figure | None


def punctuality(
    session: Session, span: Span, locale: str
) -> tuple[list[PunctualityRow], list[PunctualityRow]]:
    """By agency, then by category."""
    agencies = {agency.id: agency for agency in session.scalars(select(Agency))}
    lines: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for agency_id, total, late, residents, waited, late_residents in session.execute(
        select(
            AgencyDay.agency_id,
            func.sum(AgencyDay.lines),
            func.sum(AgencyDay.late_lines),
            func.max(AgencyDay.residents),
            func.max(AgencyDay.waited_residents),
            func.max(AgencyDay.late_residents),
        )
        .where(AgencyDay.day >= span.start, AgencyDay.day <= span.end)
        .group_by(AgencyDay.agency_id)
    ):
        lines[agency_id] = {
            "lines": int(total),
            "late": int(late),
            "residents": residents,
            "waited": waited,
            "late_residents": late_residents,
        }
    waits: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for agency_id, waited_days, count_of in session.execute(
        select(DelayDay.agency_id, DelayDay.delay_days, func.sum(DelayDay.lines))
        .where(DelayDay.day >= span.start, DelayDay.day <= span.end)
        .group_by(DelayDay.agency_id, DelayDay.delay_days)
    ):
        waits[agency_id][waited_days] = int(count_of)

    def row_of(label: str, ids: list[int]) -> PunctualityRow:
        residents = max((lines[i]["residents"] for i in ids), default=0)
        total = sum(lines[i]["lines"] for i in ids)
        late = sum(lines[i]["late"] for i in ids)
        histogram: dict[int, int] = defaultdict(int)
        for i in ids:
            for waited, n in waits[i].items():
                histogram[waited] += n
        held = max((lines[i]["waited"] for i in ids), default=0)
        late_by = max((lines[i]["late_residents"] for i in ids), default=0)  # the late rate gives late away
        median = _nearest_rank(histogram, 0.5)
        p90 = _nearest_rank(histogram, 0.9)
        return PunctualityRow(
            label=label,
            lines=Figure(total, residents),
            late_lines=Figure(late, late_by),
            late_percent=Figure(round(100 * late / total) if total else 0, late_by),
            median_days=None if median is None else Figure(median, held),
            p90_days=None if p90 is None else Figure(p90, held),
        )

    seen = sorted(lines, key=lambda i: agencies[i].code)
    by_agency = [row_of(agencies[i].name_for(locale), [i]) for i in seen]
    by_category = []
    for category in AgencyCategory:
        ids = [i for i in seen if agencies[i].category is category]
        if ids:
            by_category.append(row_of(category.label, ids))
    return by_agency, by_category


def _nearest_rank(histogram: dict[int, int], share: float) -> int | None:
    """The smallest value with at least ``share`` of the counts at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted, seen = math.ceil(share * total), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return value
    return None


@dataclass(frozen=True)
class TimeRow:
    label: str
    payments: Figure


def by_hour(session: Session, span: Span) -> list[TimeRow]:
    return _time_rows(session, span, HourDay.hour, lambda hour: hour, [(h, f"{h:02d}:00") for h in range(24)])


def by_weekday(session: Session, span: Span, names: list[str]) -> list[TimeRow]:
    return _time_rows(session, span, HourDay.day, lambda day: day.weekday(), list(enumerate(names)))


def _time_rows(
    session: Session, span: Span, column, key: Callable, labels: list[tuple[int, str]]
) -> list[TimeRow]:
    """Summed by ``column`` in the database (at most a row per day), then folded by ``key``."""
    payments: dict[int, int] = defaultdict(int)
    residents: dict[int, int] = defaultdict(int)
    for value, total, most in session.execute(
        select(column, func.sum(HourDay.payments), func.max(HourDay.residents))
        .where(HourDay.day >= span.start, HourDay.day <= span.end)
        .group_by(column)
    ):
        payments[key(value)] += int(total)
        residents[key(value)] = max(residents[key(value)], most)
    return [TimeRow(label, Figure(payments[k], residents[k])) for k, label in labels]


@dataclass(frozen=True)
class CampaignRow:
    name: str
    starts: date
    ends: date  # the last day
    days: int
    payments_during: Figure
    payers_during: Figure
    amount_during_fen: Figure
    payments_before: Figure
    payers_before: Figure
    amount_before_fen: Figure
    uses: Figure
    cost_fen: Figure
    new_payers: Figure
    cost_per_new_payer_fen: Figure | None  # None: no new payer
    kept: list[Figure | None]  # of the new payers, paid again 1, 2, 3 months after (None: not come yet)


def campaign_rows(session: Session, span: Span, locale: str) -> list[CampaignRow]:
    """Campaigns whose period meets the span, newest first."""
    since, until = day_bounds(span.start)[0], day_bounds(span.end)[1]
    found = session.execute(
        select(Campaign, CampaignFigures)
        .join(CampaignFigures, CampaignFigures.campaign_id == Campaign.id)
        .where(Campaign.starts_at < until, Campaign.ends_at > since)
        .order_by(Campaign.starts_at.desc(), Campaign.id.desc())
    ).all()
    rows = []
    today = business_day(utcnow())
    for campaign, row in found:
        starts = business_day(aware(campaign.starts_at))
        rows.append(
            CampaignRow(
                name=campaign.name_zh if locale.startswith("zh") else campaign.name_en,
                starts=starts,
                ends=business_day(aware(campaign.ends_at) - timedelta(seconds=1)),
                days=row.days,
                payments_during=Figure(row.payments_during, row.payers_during),
                payers_during=count(row.payers_during),
                amount_during_fen=Figure(row.amount_during_fen, row.payers_during),
                payments_before=Figure(row.payments_before, row.payers_before),
                payers_before=count(row.payers_before),
                amount_before_fen=Figure(row.amount_before_fen, row.payers_before),
                uses=Figure(row.uses, row.users),
                cost_fen=Figure(row.cost_fen, row.users),
                new_payers=count(row.new_payers),
                cost_per_new_payer_fen=(
                    Figure(row.cost_fen // row.new_payers, row.new_payers) if row.new_payers else None
                ),
                kept=[
                    count(value)
                    if period_end("month", months_on(month_start(starts), n - 1)) <= today
                    else None
                    for n, value in enumerate((row.kept_month_1, row.kept_month_2, row.kept_month_3), start=1)
                ],
            )
        )
    return rows


COHORT_MONTHS_AFTER = 6


@dataclass(frozen=True)
class CohortRow:
    month: date  # of the first payment
    first_payers: Figure  # residents whose first payment fell in it
    kept: list[Figure | None]  # paid in each month after (None: that month has not come yet)


def months_on(month: date, n: int) -> date:
    for _ in range(n):
        month = period_end("month", month)
    return month


def cohorts(session: Session, span: Span, today: date) -> list[CohortRow]:
    """A row per month of first payment within the span, the months after it as columns."""
    first, last = month_start(span.start), month_start(span.end)
    cells = {
        (row.cohort_month, row.active_month): row.payers
        for row in session.scalars(
            select(CohortMonth).where(CohortMonth.cohort_month >= first, CohortMonth.cohort_month <= last)
        )
    }
    rows, month = [], first
    while month <= last and len(rows) < MAX_PERIODS:
        kept: list[Figure | None] = []
        later = month
        for _ in range(COHORT_MONTHS_AFTER):
            later = period_end("month", later)
            kept.append(count(cells.get((month, later), 0)) if later <= today else None)
        rows.append(CohortRow(month, count(cells.get((month, month), 0)), kept))
        month = period_end("month", month)
    return rows
