"""Shared set-up for campaign tests: a running campaign, a funded resident, a quote of local bills."""

from __future__ import annotations

from datetime import timedelta

from portal.bills.selection import Selection
from portal.clock import business_day
from portal.db import utcnow
from portal.payments import checkout, services
from portal.promotions import campaigns
from portal.promotions.models import CampaignRule
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.factories import AdminFactory

CARD = "6222020000000000018"


def running_campaign(session, rule=CampaignRule.FIXED_OFF, budget_fen=100_000, **values):
    """Proposed by one admin, approved (and funded) by another, running from yesterday to tomorrow."""
    maker, checker = AdminFactory(), AdminFactory()
    today = business_day(utcnow())
    draft = campaigns.CampaignDraft(
        name_zh=values.pop("name_zh", "缴费立减"),
        name_en=values.pop("name_en", "Pay and save"),
        first_day=today - timedelta(days=1),
        last_day=today + timedelta(days=1),
        agency_codes=values.pop("agency_codes", ()),
        categories=values.pop("categories", ()),
        rule=rule,
        amount_off_fen=values.pop("amount_off_fen", 500),
        percent_bp=values.pop("percent_bp", 0),
        cap_fen=values.pop("cap_fen", 0),
        threshold_fen=values.pop("threshold_fen", 0),
        per_resident_uses=values.pop("per_resident_uses", 5),
        budget_fen=budget_fen,
    )
    assert not values, values
    campaign = campaigns.propose(session, maker, draft)
    campaigns.approve(session, wallet_service(session), checker, campaign.id)
    session.flush()  # requests of the test run in sessions of their own: they see only what is flushed
    return campaign


def fund(session, user, amount_fen: int = 100_000) -> None:
    session.flush()  # the user's id names the wallet
    wallet = wallet_service(session)
    owner = wallet_owner(user)
    wallet.open_wallet(owner, user.verification_tier.value)
    card = wallet.link_card(owner, CARD).reference
    wallet.top_up(owner, amount_fen, card=card, idempotency_key=f"fund-{owner}-{amount_fen}")


def quote_of(session, bills):
    """A quote of stored bills, as the review page makes it (local adapter, account reference query)."""
    selections = [
        Selection(bill.agency.code, (("account_reference", bill.account_reference),), bill.bill_no)
        for bill in bills
    ]
    return checkout.quote(session, selections, "en")


def pay_bills(session, user, bills, seen=None, key=None):
    quote = quote_of(session, bills)
    if key:
        quote = checkout.Quote(key, quote.lines)
    amounts = [line.bill.total_fen for line in quote.lines]
    return services.pay(session, wallet_service(session), user, quote, amounts, discount_seen_fen=seen)
