"""A campaign's report: uses, residents reached, spend and what is left, per agency and Beijing day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.money import plain_yuan
from portal.payments.models import Payment, PaymentItem
from portal.promotions.models import Campaign, CampaignUse
from portal.reports.sql import safe_text, shanghai_day


@dataclass(frozen=True)
class DayRow:
    day: date
    agency_code: str
    agency_name: str
    bills: int
    discount_fen: int


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    uses: int
    residents: int
    given_fen: int  # discounts granted
    returned_fen: int  # given back to the budget by refunds
    rows: list[DayRow]

    @property
    def spent_fen(self) -> int:
        return self.given_fen - self.returned_fen


def campaign_report(session: Session, campaign: Campaign, locale: str) -> CampaignReport:
    uses, residents, given, returned = session.execute(
        select(
            func.count(CampaignUse.id),
            func.count(func.distinct(CampaignUse.user_id)),
            func.coalesce(func.sum(CampaignUse.discount_fen), 0),
            func.coalesce(func.sum(CampaignUse.returned_fen), 0),
        ).where(CampaignUse.campaign_id == campaign.id)
    ).one()
    day = shanghai_day(Payment.paid_at)
    rows = session.execute(
        select(
            day, Agency.code, Agency.name_zh, Agency.name_en, func.count(), func.sum(PaymentItem.discount_fen)
        )
        .select_from(CampaignUse)
        .join(Payment, Payment.id == CampaignUse.payment_id)
        .join(PaymentItem, PaymentItem.payment_id == Payment.id)
        .join(Agency, Agency.id == PaymentItem.agency_id)
        .where(CampaignUse.campaign_id == campaign.id, PaymentItem.discount_fen > 0)
        .group_by(day, Agency.code, Agency.name_zh, Agency.name_en)
        .order_by(day, Agency.code)
    ).all()
    english = locale.startswith("en")
    return CampaignReport(
        campaign,
        int(uses),
        int(residents),
        int(given),
        int(returned),
        [
            DayRow(_as_date(d), code, name_en if english else name_zh, int(count), int(amount))
            for d, code, name_zh, name_en, count, amount in rows
        ],
    )


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def report_rows(report: CampaignReport) -> list[list[str]]:
    """The CSV: a summary block, then one line per Beijing day and agency (amounts in yuan)."""
    campaign = report.campaign
    lines = [
        [_("Campaign"), campaign.code, safe_text(campaign.name_zh), safe_text(campaign.name_en)],
        [_("Budget (yuan)"), plain_yuan(campaign.budget_fen)],
        [_("Uses"), str(report.uses)],
        [_("Residents reached"), str(report.residents)],
        [_("Discounts given (yuan)"), plain_yuan(report.given_fen)],
        [_("Returned by refunds (yuan)"), plain_yuan(report.returned_fen)],
        [_("Spent (yuan)"), plain_yuan(report.spent_fen)],
        [_("Budget left (yuan)"), plain_yuan(campaign.remaining_fen)],
        [],
        [_("Day (Beijing)"), _("Agency code"), _("Agency"), _("Bills"), _("Discount (yuan)")],
    ]
    for row in report.rows:
        lines.append(
            [
                row.day.isoformat(),
                row.agency_code,
                safe_text(row.agency_name),
                str(row.bills),
                plain_yuan(row.discount_fen),
            ]
        )
    return lines
