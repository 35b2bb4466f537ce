"""Campaign lifecycle: an admin proposes, a second admin approves (which funds the budget from the
promotion fund) or rejects; an admin may end a running campaign early. Maker-checker, like unfreezing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import events
from portal.accounts.models import User
from portal.audit.services import record
from portal.clock import business_day, day_bounds
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.promotions.models import Campaign, CampaignRule, CampaignState
from portal.wallet.campaigns import budget_owner

MAX_BUDGET_FEN = 100_000_000_00  # ¥100 million: a typo's ceiling, not a policy


@dataclass(frozen=True)
class CampaignDraft:
    """What the admin's form says, already parsed into fen, basis points and Beijing days."""

    name_zh: str
    name_en: str
    first_day: date
    last_day: date
    agency_codes: tuple[str, ...]
    categories: tuple[str, ...]
    rule: CampaignRule
    amount_off_fen: int
    percent_bp: int
    cap_fen: int
    threshold_fen: int
    per_resident_uses: int
    budget_fen: int


def propose(session: Session, admin: User, draft: CampaignDraft) -> Campaign:
    _check(draft)
    starts_at, ends_at = day_bounds(draft.first_day)[0], day_bounds(draft.last_day)[1]
    campaign = Campaign(
        code="C" + secrets.token_hex(5).upper(),
        name_zh=draft.name_zh.strip(),
        name_en=draft.name_en.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        agency_codes=" ".join(sorted(draft.agency_codes)),
        categories=" ".join(sorted(draft.categories)),
        rule=draft.rule,
        amount_off_fen=draft.amount_off_fen,
        percent_bp=draft.percent_bp,
        cap_fen=draft.cap_fen,
        threshold_fen=draft.threshold_fen,
        per_resident_uses=draft.per_resident_uses,
        budget_fen=draft.budget_fen,
        created_by_id=admin.id,
    )
    session.add(campaign)
    session.flush()  # the id names the campaign in the audit record
    record(
        session,
        f"user:{admin.id}",
        "campaign.proposed",
        f"campaign:{campaign.code}",
        rule=draft.rule.value,
        budget_fen=draft.budget_fen,
        first_day=draft.first_day.isoformat(),
        last_day=draft.last_day.isoformat(),
    )
    return campaign


def _check(draft: CampaignDraft) -> None:
    if draft.last_day < draft.first_day:
        raise ValidationFailed(_("The last day must be on or after the first day."), field="last_day")
    if draft.last_day < business_day(utcnow()):
        raise ValidationFailed(
            _("The last day has passed: choose a period that ends today or later."), field="last_day"
        )
    if not 0 < draft.budget_fen <= MAX_BUDGET_FEN:
        raise ValidationFailed(_("Enter a budget between ¥0.01 and ¥100,000,000."), field="budget")
    needs_amount = draft.rule is not CampaignRule.PERCENT_OFF
    if needs_amount and draft.amount_off_fen <= 0:
        raise ValidationFailed(_("Enter the amount this campaign takes off."), field="amount_off")
    if draft.rule is CampaignRule.PERCENT_OFF and not 0 < draft.percent_bp <= 10_000:
        raise ValidationFailed(_("Enter a percentage between 0.01 and 100."), field="percent")
    if draft.rule is CampaignRule.SPEND_OVER and draft.threshold_fen <= 0:
        raise ValidationFailed(_("Enter the amount the bills must come to."), field="threshold")
    if draft.rule is CampaignRule.SPEND_OVER and draft.threshold_fen <= draft.amount_off_fen:
        raise ValidationFailed(
            _("The amount to spend must be more than the amount taken off."), field="threshold"
        )


def approve(session: Session, wallet, admin: User, campaign_id: int) -> Campaign:
    """The second admin's approval funds the budget account in the same transaction and tells the
    residents who asked for campaign news."""
    campaign = _pending(session, admin, campaign_id)
    if campaign.ends_at <= utcnow():
        raise ValidationFailed(
            _("This campaign's period is over: reject it, or propose it again with new days.")
        )
    funded = wallet.fund_budget(
        budget_owner(campaign.code),
        campaign.budget_fen,
        idempotency_key=f"campaign-funding:{campaign.code}",
        description=campaign.code,
    )
    campaign.state, campaign.decided_by_id, campaign.decided_at = CampaignState.ACTIVE, admin.id, utcnow()
    events.publish(session, events.CampaignApproved(campaign.id))  # the news to residents who opted in
    record(
        session,
        f"user:{admin.id}",
        "campaign.approved",
        f"campaign:{campaign.code}",
        budget_fen=campaign.budget_fen,
        transfer=funded.reference,
    )
    return campaign


def reject(session: Session, admin: User, campaign_id: int) -> Campaign:
    campaign = _pending(session, admin, campaign_id)
    campaign.state, campaign.decided_by_id, campaign.decided_at = CampaignState.REJECTED, admin.id, utcnow()
    record(session, f"user:{admin.id}", "campaign.rejected", f"campaign:{campaign.code}")
    return campaign


def end(session: Session, admin: User, campaign_id: int) -> Campaign:
    """Stop a running campaign now. Its remaining budget stays in its account until an admin returns it
    to the promotion fund (refunds of its discounts still come back to the account)."""
    campaign = _locked(session, campaign_id)
    if campaign.state is not CampaignState.ACTIVE:
        raise ValidationFailed(_("Only a running campaign can be ended."))
    campaign.state, campaign.ended_at = CampaignState.ENDED, utcnow()
    record(
        session,
        f"user:{admin.id}",
        "campaign.ended",
        f"campaign:{campaign.code}",
        left_fen=campaign.remaining_fen,
    )
    return campaign


def return_rest(session: Session, wallet, admin: User, campaign_id: int) -> int:
    """Move what a stopped campaign (ended early, or its period over) did not spend back to the promotion
    fund, under the campaign's lock (a payment's discount or a refund waits for it). Returns the amount.
    A refund of one of its discounts later brings money back to the account; it can be returned again."""
    campaign = _locked(session, campaign_id)
    stopped = campaign.state is CampaignState.ENDED or (
        campaign.state is CampaignState.ACTIVE and campaign.ends_at <= utcnow()
    )
    if not stopped:
        raise ValidationFailed(_("Only a campaign that has ended can give its budget back."))
    amount = campaign.remaining_fen
    if amount <= 0:
        raise ValidationFailed(_("Nothing is left in this campaign's budget."))
    moved = wallet.return_budget(
        budget_owner(campaign.code),
        amount,
        idempotency_key=f"campaign-return:{campaign.code}:{campaign.returned_to_fund_fen}",
        description=campaign.code,
    )
    campaign.returned_to_fund_fen += amount
    record(
        session,
        f"user:{admin.id}",
        "campaign.budget_returned",
        f"campaign:{campaign.code}",
        amount_fen=amount,
        transfer=moved.reference,
    )
    return amount


def all_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def campaign(session: Session, campaign_id: int) -> Campaign:
    found = session.get(Campaign, campaign_id)
    if found is None:
        raise NotFound(_("There is no such campaign."))
    return found


def _pending(session: Session, admin: User, campaign_id: int) -> Campaign:
    found = _locked(session, campaign_id)  # two admins deciding at once: the second sees the first's
    if found.state is not CampaignState.PENDING:
        raise ValidationFailed(_("This campaign was already decided."))
    if found.created_by_id == admin.id:
        raise ValidationFailed(_("A second admin must decide: you proposed this campaign yourself."))
    return found


def _locked(session: Session, campaign_id: int) -> Campaign:
    found = session.scalar(
        select(Campaign)
        .where(Campaign.id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(_("There is no such campaign."))
    return found
