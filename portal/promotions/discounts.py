"""Discounts at checkout: the best running campaign for a payment, shown at review and granted at
confirmation under the campaign's row lock, so concurrent payments never spend more than the budget.

Lock order: a payment locks its campaign row before any ledger account (refunds do the same), so a
payment and a refund of one campaign never wait on each other in opposite orders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agencies.models import Agency
from portal.db import utcnow
from portal.errors import PortalError
from portal.money import format_fen
from portal.promotions.models import Campaign, CampaignState, CampaignUse
from portal.promotions.rules import Line, eligible, rule_discount, spread


@dataclass(frozen=True)
class Offer:
    campaign: Campaign
    discount_fen: int
    shares: tuple[int, ...]  # the discount on each line, in the order the lines were given
    rule_fen: int  # what the rule alone gives, before the budget's limit


class DiscountChanged(PortalError):
    """The discount shown at review is no longer available in full (budget spent, uses used up)."""

    def __init__(self, discount_fen: int) -> None:
        if discount_fen:
            message = _(
                "The campaign discount has changed to %(amount)s since you reviewed this payment: its "
                "budget is nearly spent. Nothing was paid. Check the amounts below and confirm again.",
                amount=format_fen(discount_fen),
            )
        else:
            message = _(
                "The campaign discount is no longer available: its budget is spent or the campaign is "
                "over. Nothing was paid. Check the amounts below and confirm again."
            )
        super().__init__(message)


def lines_for(session: Session, pairs: Sequence[tuple[str, int]]) -> list[Line]:
    """(agency code, amount) pairs as campaign lines, with each agency's category."""
    categories = dict(session.execute(select(Agency.code, Agency.category)).all())
    return [Line(code, str(categories.get(code, "")), amount) for code, amount in pairs]


def running(session: Session, now: datetime | None = None) -> list[Campaign]:
    moment = now or utcnow()
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.state == CampaignState.ACTIVE, Campaign.starts_at <= moment)
            .where(Campaign.ends_at > moment, Campaign.spent_fen < Campaign.budget_fen)
            .order_by(Campaign.id)
        )
    )


def any_running(session: Session, now: datetime | None = None) -> bool:
    """Whether any campaign could give a discount now (a payment asks before it looks further)."""
    moment = now or utcnow()
    found = session.scalar(
        select(Campaign.id)
        .where(Campaign.state == CampaignState.ACTIVE, Campaign.starts_at <= moment)
        .where(Campaign.ends_at > moment, Campaign.spent_fen < Campaign.budget_fen)
        .limit(1)
    )
    return found is not None


def best_offer(session: Session, user_id: int, lines: Sequence[Line], *, first: bool) -> Offer | None:
    """The running campaign that takes most off these lines for this resident (one per payment;
    the older campaign wins a tie); ``first``: this is the resident's first payment (the payments
    domain knows). No lock: what the review page shows."""
    campaigns = running(session)
    if not campaigns:
        return None
    used = _uses(session, user_id, [c.id for c in campaigns])
    offers = [_offer(c, lines, first, used.get(c.id, 0)) for c in campaigns]
    return max((o for o in offers if o is not None), key=lambda o: o.discount_fen, default=None)


def grant(
    session: Session,
    user_id: int,
    payment_id: int,
    lines: Sequence[Line],
    seen_fen: int | None,
    *,
    first: Callable[[], bool],
) -> Offer | None:
    """Take the discount for a payment being written: lock the campaign, judge again on the locked
    row, record the use and spend the budget. DiscountChanged when the resident saw more than the
    budget now allows (seen_fen None: accept whatever is left, as auto-pay does). ``first`` asks the
    payments domain whether this is the resident's first payment: asked again once the campaign is
    locked, so two first payments racing for the rule see each other."""
    candidate = best_offer(session, user_id, lines, first=first())
    if candidate is None:
        if seen_fen:
            raise DiscountChanged(0)
        return None
    campaign = session.scalar(
        select(Campaign)
        .where(Campaign.id == candidate.campaign.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # spent_fen as of the lock
    )
    offer = None
    if campaign.state is CampaignState.ACTIVE and campaign.starts_at <= utcnow() < campaign.ends_at:
        offer = _offer(campaign, lines, first(), _uses(session, user_id, [campaign.id]).get(campaign.id, 0))
    granted = offer.discount_fen if offer else 0
    if seen_fen is not None and granted < min(seen_fen, candidate.rule_fen):
        raise DiscountChanged(granted)
    if offer is None:
        return None
    campaign.spent_fen += granted
    session.add(
        CampaignUse(campaign_id=campaign.id, user_id=user_id, payment_id=payment_id, discount_fen=granted)
    )
    return offer


def _offer(campaign: Campaign, lines: Sequence[Line], first: bool, used: int) -> Offer | None:
    if used >= campaign.per_resident_uses:
        return None
    covered = [eligible(campaign, line) for line in lines]
    amounts = [line.amount_fen for line, ok in zip(lines, covered, strict=True) if ok]
    rule_fen = rule_discount(campaign, sum(amounts), first)
    discount = min(rule_fen, campaign.remaining_fen)
    if discount <= 0:
        return None
    parts = iter(spread(discount, amounts))
    shares = tuple(next(parts) if ok else 0 for ok in covered)
    return Offer(campaign, discount, shares, rule_fen)


def _uses(session: Session, user_id: int, campaign_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(CampaignUse.campaign_id, func.count())
        .where(CampaignUse.user_id == user_id, CampaignUse.campaign_id.in_(campaign_ids))
        .group_by(CampaignUse.campaign_id)
    )
    return {campaign_id: count for campaign_id, count in rows}


def give_back(session: Session, payment_id: int, share_fen: int) -> Campaign | None:
    """A refund returns the campaign's share of it: the budget may give it again (the use still
    counts towards the resident's limit). Locks the campaign row; None when no campaign paid."""
    use = session.scalar(select(CampaignUse).where(CampaignUse.payment_id == payment_id))
    if use is None:
        return None
    campaign = session.scalar(
        select(Campaign)
        .where(Campaign.id == use.campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # spent_fen as of the lock
    )
    if share_fen:
        use.returned_fen += share_fen
        campaign.spent_fen -= share_fen
    return campaign


def campaign_of(session: Session, payment_id: int) -> Campaign | None:
    """The campaign that paid part of a payment, if one did."""
    return session.scalar(
        select(Campaign)
        .join(CampaignUse, CampaignUse.campaign_id == Campaign.id)
        .where(CampaignUse.payment_id == payment_id)
    )
