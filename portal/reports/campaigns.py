"""A campaign's report: uses, residents reached, spend and what is left, per agency and Beijing day.

It is a report because it sums payments and refunds, which promotions sits below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.money import plain_yuan
from portal.payments.models import Payment, PaymentItem, Refund
from portal.promotions.models import Campaign, CampaignUse
from portal.sql import safe_text, shanghai_day


@dataclass
class DayRow:
    """Discounts given on the day's payments, and campaign shares refunds returned on that day."""

    day: date
    agency_code: str
    agency_name: str
    bills: int = 0
    discount_fen: int = 0
    returned_fen: int = 0


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    uses: int
    refunded_uses: int  # uses whose whole discount went back to the budget
    residents: int
    given_fen: int  # discounts granted
    returned_fen: int  # given back to the budget by refunds
    rows: list[DayRow]

    @property
    def spent_fen(self) -> int:
        return self.given_fen - self.returned_fen


def campaign_report(session: Session, campaign: Campaign, locale: str) -> CampaignReport:
    uses, refunded_uses, residents, given, returned = session.execute(
        select(
            func.count(CampaignUse.id),
            func.count(CampaignUse.id).filter(CampaignUse.returned_fen == CampaignUse.discount_fen),
            func.count(func.distinct(CampaignUse.user_id)),
            func.coalesce(func.sum(CampaignUse.discount_fen), 0),
            func.coalesce(func.sum(CampaignUse.returned_fen), 0),
        ).where(CampaignUse.campaign_id == campaign.id)
    ).one()
    english = locale.startswith("en")
    rows: dict[tuple[date, str], DayRow] = {}

    def row_of(day, code: str, name_zh: str, name_en: str) -> DayRow:
        key = (_as_date(day), code)
        if key not in rows:
            rows[key] = DayRow(key[0], code, name_en if english else name_zh)
        return rows[key]

    paid_day = shanghai_day(Payment.paid_at)
    for day, code, name_zh, name_en, count, amount in session.execute(
        select(
            paid_day,
            Agency.code,
            Agency.name_zh,
            Agency.name_en,
            func.count(),
            func.sum(PaymentItem.discount_fen),
        )
        .select_from(CampaignUse)
        .join(Payment, Payment.id == CampaignUse.payment_id)
        .join(PaymentItem, PaymentItem.payment_id == Payment.id)
        .join(Agency, Agency.id == PaymentItem.agency_id)
        .where(CampaignUse.campaign_id == campaign.id, PaymentItem.discount_fen > 0)
        .group_by(paid_day, Agency.code, Agency.name_zh, Agency.name_en)
    ):
        found = row_of(day, code, name_zh, name_en)
        found.bills, found.discount_fen = int(count), int(amount)
    refund_day = shanghai_day(Refund.created_at)
    for day, code, name_zh, name_en, amount in session.execute(
        select(refund_day, Agency.code, Agency.name_zh, Agency.name_en, func.sum(Refund.campaign_fen))
        .select_from(CampaignUse)
        .join(PaymentItem, PaymentItem.payment_id == CampaignUse.payment_id)
        .join(Refund, Refund.payment_item_id == PaymentItem.id)
        .join(Agency, Agency.id == PaymentItem.agency_id)
        .where(CampaignUse.campaign_id == campaign.id, Refund.campaign_fen > 0)
        .group_by(refund_day, Agency.code, Agency.name_zh, Agency.name_en)
    ):
        row_of(day, code, name_zh, name_en).returned_fen = int(amount)
    return CampaignReport(
        campaign,
        int(uses),
        int(refunded_uses),
        int(residents),
        int(given),
        int(returned),
        [rows[key] for key in sorted(rows)],
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
        [_("Uses refunded in full"), str(report.refunded_uses)],
        [_("Residents reached"), str(report.residents)],
        [_("Discounts given (yuan)"), plain_yuan(report.given_fen)],
        [_("Returned by refunds (yuan)"), plain_yuan(report.returned_fen)],
        [_("Spent (yuan)"), plain_yuan(report.spent_fen)],
        [_("Given back to the promotion fund (yuan)"), plain_yuan(campaign.returned_to_fund_fen)],
        [_("Budget left (yuan)"), plain_yuan(campaign.remaining_fen)],
        [],
        [
            _("Day (Beijing)"),
            _("Agency code"),
            _("Agency"),
            _("Bills"),
            _("Discount (yuan)"),
            _("Returned (yuan)"),
        ],
    ]
    for row in report.rows:
        lines.append(
            [
                row.day.isoformat(),
                row.agency_code,
                safe_text(row.agency_name),
                str(row.bills),
                plain_yuan(row.discount_fen),
                plain_yuan(row.returned_fen),
            ]
        )
    return lines
