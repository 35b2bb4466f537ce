"""Roll-ups of what promotions bring: each campaign against the days before it, and the cohorts of
residents by the month of their first payment.

A campaign's row is written again from the raw rows on every scan while it runs and for three months
after its end (its new payers' months after are still coming in); what that reads is its own period,
as many days before it, and its new payers' payments. The cohort cells of a month are written again
with each roll-up of one of its days: that reads the month's payments and, for the residents who paid
in it, the day of their first payment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from portal.analytics.models import CampaignFigures, CohortMonth
from portal.clock import aware, business_day, day_bounds
from portal.db import utcnow
from portal.payments.models import Payment, PaymentState
from portal.promotions.models import Campaign, CampaignState, CampaignUse
from portal.sql import dialect_insert

KEPT_MONTHS = 3
FOLLOWED_FOR = timedelta(days=31 * (KEPT_MONTHS + 1))


def month_of(moment: datetime) -> date:
    return business_day(aware(moment)).replace(day=1)


def months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def first_payments(session: Session, users) -> dict[int, datetime]:
    """The first payment that moved money (its paid_at is set then) of each resident ``users`` (a query
    of user ids) selects: one step down the (user_id, paid_at) index per resident, whatever their
    history holds."""
    chosen = users.distinct().subquery()
    first = (
        select(func.min(Payment.paid_at))
        .where(Payment.user_id == chosen.c.user_id, Payment.paid_at.is_not(None))
        .correlate(chosen)
        .scalar_subquery()
    )
    return {
        user: aware(at) for user, at in session.execute(select(chosen.c.user_id, first)) if at is not None
    }


def write_cohorts(session: Session, month: date) -> None:
    """The cohort cells of the residents who paid in ``month``."""
    since = day_bounds(month)[0]
    until = day_bounds((month + timedelta(days=32)).replace(day=1))[0]
    active = (
        select(Payment.user_id)
        .where(Payment.user_id.is_not(None), Payment.state != PaymentState.PENDING)
        .where(Payment.paid_at >= since, Payment.paid_at < until)
    )
    cohorts = Counter(month_of(first) for first in first_payments(session, active).values())
    session.execute(delete(CohortMonth).where(CohortMonth.active_month == month))
    if cohorts:
        session.execute(
            insert(CohortMonth),
            [{"cohort_month": cohort, "active_month": month, "payers": n} for cohort, n in cohorts.items()],
        )


def campaigns_due(session: Session, now: datetime) -> list[Campaign]:
    """Approved campaigns that have started and ended less than FOLLOWED_FOR ago, and any older one
    never rolled up (a portal that had campaigns before its analytics)."""
    never = ~select(CampaignFigures.campaign_id).where(CampaignFigures.campaign_id == Campaign.id).exists()
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.state.in_([CampaignState.ACTIVE, CampaignState.ENDED]))
            .where(Campaign.starts_at <= now, or_(Campaign.ends_at >= now - FOLLOWED_FOR, never))
            .order_by(Campaign.id)
        )
    )


def _period_figures(session: Session, since: datetime, until: datetime) -> tuple[int, int, int]:
    """Payments, distinct resident payers and the amount (net of refunds) paid in [since, until)."""
    payments, payers, amount = session.execute(
        select(
            func.count(),
            func.count(Payment.user_id.distinct()),
            func.coalesce(func.sum(Payment.total_fen - Payment.refunded_fen), 0),
        ).where(
            Payment.paid_at >= since,
            Payment.paid_at < until,
            Payment.state != PaymentState.PENDING,
            Payment.user_id.is_not(None),
        )
    ).one()
    return payments, payers, int(amount)


def roll_up_campaign(session: Session, campaign: Campaign, now: datetime) -> None:
    # Whole Beijing days: from its first day to its last, or to today, or to the day it was stopped.
    first_day = business_day(aware(campaign.starts_at))
    last_day = min(business_day(aware(campaign.ends_at) - timedelta(seconds=1)), business_day(now))
    if campaign.ended_at is not None:
        last_day = min(last_day, business_day(aware(campaign.ended_at)))
    start, end = day_bounds(first_day)[0], day_bounds(last_day)[1]
    length = max(end - start, timedelta(0))
    during = _period_figures(session, start, end)
    before = _period_figures(session, start - length, start)
    uses = session.execute(
        select(
            CampaignUse.user_id, CampaignUse.payment_id, CampaignUse.discount_fen, CampaignUse.returned_fen
        ).where(CampaignUse.campaign_id == campaign.id)
    ).all()
    users = {use.user_id for use in uses}
    its_users = select(CampaignUse.user_id).where(CampaignUse.campaign_id == campaign.id)
    firsts = first_payments(session, its_users)
    discounted_at = session.execute(
        select(Payment.user_id, Payment.paid_at)
        .join(CampaignUse, CampaignUse.payment_id == Payment.id)
        .where(CampaignUse.campaign_id == campaign.id)
    )
    # New: the resident's first payment ever is one this campaign discounted.
    new = {
        user for user, paid_at in discounted_at if paid_at is not None and aware(paid_at) == firsts.get(user)
    }
    kept: dict[int, set[int]] = defaultdict(set)
    if new:
        later = session.execute(
            select(Payment.user_id, Payment.paid_at).where(
                Payment.user_id.in_(its_users),
                Payment.state != PaymentState.PENDING,
                Payment.paid_at >= start,
            )
        )
        for user, paid_at in later:
            if user not in new:
                continue
            after = months_between(month_of(firsts[user]), month_of(paid_at))
            if 1 <= after <= KEPT_MONTHS:
                kept[after].add(user)
    values = {
        "campaign_id": campaign.id,
        "rolled_at": utcnow(),
        "days": length.days,
        "payments_during": during[0],
        "payers_during": during[1],
        "amount_during_fen": during[2],
        "payments_before": before[0],
        "payers_before": before[1],
        "amount_before_fen": before[2],
        "uses": len(uses),
        "users": len(users),
        "cost_fen": sum(use.discount_fen - use.returned_fen for use in uses),
        "new_payers": len(new),
        **{f"kept_month_{n}": len(kept[n]) for n in range(1, KEPT_MONTHS + 1)},
    }
    statement = dialect_insert(session)(CampaignFigures).values(**values)
    session.execute(  # two workers following one campaign: the later one's figures stand
        statement.on_conflict_do_update(
            index_elements=["campaign_id"], set_={k: v for k, v in values.items() if k != "campaign_id"}
        )
    )
