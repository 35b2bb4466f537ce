"""The analytics tables as CSV or Excel rows: the same figures as the pages, "<10" where a page hides
one, and no column that could name a resident."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.analytics import figures
from portal.analytics.figures import Span
from portal.analytics.privacy import Figure
from portal.clock import business_day
from portal.db import utcnow
from portal.payments.labels import CHANNEL_LABELS


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    kinds: list[str]  # for the workbook: "text", "date", "count" or "money"
    rows: list[list]


def weekday_names() -> list[str]:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


def _cells(*values) -> list:
    return [value.cell() if isinstance(value, Figure) else value for value in values]


def adoption_table(session: Session, span: Span, locale: str) -> Table:
    rows = figures.adoption(session, span)
    return Table(
        _("Adoption"),
        [
            _("Period from"),
            _("Registrations"),
            _("Identity verified"),
            _("Wallets funded"),
            _("Top-ups"),
            _("Topped up"),
            _("Bill payments"),
            _("Amount paid"),
            _("Active payers"),
            _("First-time payers"),
        ],
        ["date", "count", "count", "count", "count", "money", "count", "money", "count", "count"],
        [
            _cells(
                r.start,
                r.registrations,
                r.verified,
                r.wallets_funded,
                r.top_ups,
                r.top_up_fen,
                r.payments,
                r.payment_fen,
                r.payers,
                r.first_payers,
            )
            for r in rows
        ],
    )


def channels_table(session: Session, span: Span, locale: str) -> Table:
    rows = figures.channels(session, span)
    return Table(
        _("Channel mix"),
        [
            _("Channel"),
            _("Payments"),
            _("Share (per cent)"),
            _("Bills"),
            _("Payments of several bills"),
            _("Amount paid"),
            _("Refunded"),
        ],
        ["text", "count", "count", "count", "count", "money", "money"],
        [
            _cells(
                str(CHANNEL_LABELS[r.channel]),
                r.payments,
                r.share_percent,
                r.lines,
                r.multi_bill,
                r.amount_fen,
                r.refunded_fen,
            )
            for r in rows
        ],
    )


def _punctuality(rows: list[figures.PunctualityRow], title: str, first: str) -> Table:
    return Table(
        title,
        [
            first,
            _("Bills paid"),
            _("Paid late"),
            _("Late (per cent)"),
            _("Median days from issue"),
            _("90th percentile days from issue"),
        ],
        ["text", "count", "count", "count", "count", "count"],
        [_cells(r.label, r.lines, r.late_lines, r.late_percent, r.median_days, r.p90_days) for r in rows],
    )


def agencies_table(session: Session, span: Span, locale: str) -> Table:
    return _punctuality(
        figures.punctuality(session, span, locale)[0], _("On time and late by agency"), _("Agency")
    )


def categories_table(session: Session, span: Span, locale: str) -> Table:
    return _punctuality(
        figures.punctuality(session, span, locale)[1], _("On time and late by category"), _("Category")
    )


def hours_table(session: Session, span: Span, locale: str) -> Table:
    rows = figures.by_hour(session, span)
    return Table(
        _("Payments by hour"),
        [_("Hour (Beijing time)"), _("Payments")],
        ["text", "count"],
        [_cells(r.label, r.payments) for r in rows],
    )


def weekdays_table(session: Session, span: Span, locale: str) -> Table:
    rows = figures.by_weekday(session, span, weekday_names())
    return Table(
        _("Payments by weekday"),
        [_("Weekday"), _("Payments")],
        ["text", "count"],
        [_cells(r.label, r.payments) for r in rows],
    )


def campaigns_table(session: Session, span: Span, locale: str) -> Table:
    rows = figures.campaign_rows(session, span, locale)
    kept = [_("Paid again in month %(n)d after", n=n) for n in range(1, 4)]
    return Table(
        _("Promotion results"),
        [
            _("Campaign"),
            _("First day"),
            _("Last day"),
            _("Days so far"),
            _("Payments during"),
            _("Payers during"),
            _("Amount during"),
            _("Payments before"),
            _("Payers before"),
            _("Amount before"),
            _("Discounted payments"),
            _("Cost"),
            _("New payers"),
            _("Cost per new payer"),
            *kept,
        ],
        [
            "text",
            "date",
            "date",
            "count",
            "count",
            "count",
            "money",
            "count",
            "count",
            "money",
            "count",
            "money",
            "count",
            "money",
            "count",
            "count",
            "count",
        ],
        [
            _cells(
                r.name,
                r.starts,
                r.ends,
                r.days,
                r.payments_during,
                r.payers_during,
                r.amount_during_fen,
                r.payments_before,
                r.payers_before,
                r.amount_before_fen,
                r.uses,
                r.cost_fen,
                r.new_payers,
                r.cost_per_new_payer_fen,
                *r.kept,
            )
            for r in rows
        ],
    )


def cohorts_table(session: Session, span: Span, locale: str) -> Table:
    rows = figures.cohorts(session, span, business_day(utcnow()))
    after = [_("Month %(n)d", n=n) for n in range(1, figures.COHORT_MONTHS_AFTER + 1)]
    return Table(
        _("Cohorts"),  # the sheet's name: Excel keeps 31 characters of it
        [_("Month of first payment"), _("First-time payers"), *after],
        ["date", "count", *["count"] * figures.COHORT_MONTHS_AFTER],
        [_cells(r.month, r.first_payers, *r.kept) for r in rows],
    )


PAGE_OF = {
    "adoption": "analytics/adoption.html",
    "campaigns": "analytics/promotions.html",
    "cohorts": "analytics/promotions.html",
}

TABLES: dict[str, Callable[[Session, Span, str], Table]] = {
    "adoption": adoption_table,
    "channels": channels_table,
    "agencies": agencies_table,
    "categories": categories_table,
    "hours": hours_table,
    "weekdays": weekdays_table,
    "campaigns": campaigns_table,
    "cohorts": cohorts_table,
}
