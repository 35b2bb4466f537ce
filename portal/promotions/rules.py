"""What a campaign's rule gives for a payment, as pure arithmetic on fen (no database, no budget)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.promotions.models import Campaign, CampaignRule

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Line:
    """One bill of a payment as a campaign sees it."""

    agency_code: str
    category: str
    amount_fen: int


def eligible(campaign: Campaign, line: Line) -> bool:
    """A campaign naming no agency and no category covers every bill."""
    agencies, categories = campaign.agency_codes.split(), campaign.categories.split()
    if not agencies and not categories:
        return True
    return line.agency_code in agencies or line.category in categories


def rule_discount(campaign: Campaign, eligible_fen: int, first_payment: bool) -> int:
    """The discount the rule gives on this eligible amount; the resident always pays at least one fen
    from the wallet (this is a wallet promotion, and a payment of nothing is not a payment)."""
    if eligible_fen <= 0:
        return 0
    match campaign.rule:
        case CampaignRule.FIXED_OFF:
            discount = campaign.amount_off_fen
        case CampaignRule.PERCENT_OFF:
            discount = eligible_fen * campaign.percent_bp // BASIS_POINTS
            if campaign.cap_fen:
                discount = min(discount, campaign.cap_fen)
        case CampaignRule.SPEND_OVER:
            discount = campaign.amount_off_fen if eligible_fen >= campaign.threshold_fen else 0
        case CampaignRule.FIRST_PAYMENT:
            discount = campaign.amount_off_fen if first_payment else 0
    return max(0, min(discount, eligible_fen - 1))


def spread(discount_fen: int, amounts: Sequence[int]) -> list[int]:
    """The discount over the eligible lines in proportion to their amounts (largest remainder first),
    so each bill's share is known when part of it is refunded."""
    total = sum(amounts)
    if not total or not discount_fen:
        return [0] * len(amounts)
    shares = [discount_fen * amount // total for amount in amounts]
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(discount_fen * amounts[i] % total), i))
    for index in by_remainder[: discount_fen - sum(shares)]:
        shares[index] += 1
    return shares


def share_of_refund(discount_fen: int, amount_fen: int, refunded_before: int, refunding: int) -> int:
    """The campaign's part of a refund of `refunding` from a bill of `amount_fen` whose share was
    `discount_fen`: cumulative and rounded down, so the whole bill refunded returns exactly the share."""
    if not discount_fen:
        return 0
    before = discount_fen * refunded_before // amount_fen
    after = discount_fen * (refunded_before + refunding) // amount_fen
    return after - before
