"""How a campaign's offer reads, in the reader's language, from plain facts: the staff page renders
them now, and campaign news stores them so a notice reads right in whichever language it is opened."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agencies.models import CATEGORY_LABELS, Agency, AgencyCategory
from portal.clock import local_time
from portal.money import format_fen
from portal.promotions.models import Campaign, CampaignRule


def offer_facts(session: Session, campaign: Campaign) -> dict:
    """Plain values only (fen, basis points, ISO days, both names of each agency)."""
    codes = campaign.agency_codes.split()
    agencies = session.execute(
        select(Agency.name_zh, Agency.name_en).where(Agency.code.in_(codes)).order_by(Agency.code)
    ).all()
    return {
        "name_zh": campaign.name_zh,
        "name_en": campaign.name_en,
        "first_day": local_time(campaign.starts_at).date().isoformat(),
        "last_day": local_time(campaign.ends_at - timedelta(microseconds=1)).date().isoformat(),
        "rule": campaign.rule.value,
        "amount_off_fen": campaign.amount_off_fen,
        "percent_bp": campaign.percent_bp,
        "cap_fen": campaign.cap_fen,
        "threshold_fen": campaign.threshold_fen,
        "uses": campaign.per_resident_uses,
        "agencies_zh": [zh for zh, _en in agencies],
        "agencies_en": [en for _zh, en in agencies],
        "categories": campaign.categories.split(),
    }


def percent_text(basis_points: int) -> str:
    """1000 -> '10', 1250 -> '12.5', 1205 -> '12.05'."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") if rest else str(whole)


def offer_text(facts: dict) -> str:
    """What the campaign takes off, e.g. '10% off, at most ¥5.00'."""
    rule = CampaignRule(facts["rule"])
    off = format_fen(facts["amount_off_fen"])
    if rule is CampaignRule.PERCENT_OFF:
        percent = _("%(percent)s%% off", percent=percent_text(facts["percent_bp"]))
        if not facts["cap_fen"]:
            return percent
        return _("%(offer)s, at most %(cap)s", offer=percent, cap=format_fen(facts["cap_fen"]))
    if rule is CampaignRule.SPEND_OVER:
        return _(
            "%(off)s off when the bills come to %(threshold)s or more",
            off=off,
            threshold=format_fen(facts["threshold_fen"]),
        )
    if rule is CampaignRule.FIRST_PAYMENT:
        return _("%(off)s off the first wallet payment", off=off)
    return _("%(off)s off each payment", off=off)


def covers_text(facts: dict, locale: str) -> str:
    """The agencies and categories by name, or 'every bill'."""
    chinese = locale.startswith("zh")
    names = facts["agencies_zh"] if chinese else facts["agencies_en"]
    names = list(names) + [str(CATEGORY_LABELS[AgencyCategory(c)]) for c in facts["categories"]]
    if not names:
        return _("Every bill")
    return ("、" if chinese else ", ").join(names)


def news_text(facts: dict, locale: str) -> str:
    """The body of a campaign-news notice: name, period, offer, what it covers and how often."""
    chinese = locale.startswith("zh")
    name = facts["name_zh"] if chinese else facts["name_en"]
    has_scope = facts["agencies_zh"] or facts["categories"]
    uses = facts["uses"]
    return _(
        "%(name)s, %(first)s to %(last)s. Pay bills from your wallet and get %(offer)s. Covers: %(covers)s. "
        "Each resident can use it %(times)s; it ends early when its budget is spent.",
        name=name,
        first=facts["first_day"],
        last=facts["last_day"],
        offer=offer_text(facts),
        covers=covers_text(facts, locale) if has_scope else _("all bills"),
        times=_("once") if uses == 1 else ngettext("%(num)d time", "%(num)d times", uses),
    )
