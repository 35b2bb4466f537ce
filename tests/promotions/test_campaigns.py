"""Campaign discounts: paid from the budget to the agency in the payment's transaction, within the
per-resident limit, to the fen of the budget, returned by refunds, shown on receipts; maker-checker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.clock import business_day
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.i18n import LOCALE_COOKIE
from portal.payments import refunds
from portal.payments.models import Payment
from portal.promotions import campaigns
from portal.promotions.discounts import DiscountChanged
from portal.promotions.models import CampaignRule, CampaignState, CampaignUse
from portal.receipts.models import ReceiptKind
from portal.receipts.services import receipt_facts, receipts_of
from portal.reports.campaigns import campaign_report
from portal.wallet.campaigns import PROMOTION_FUND_OWNER, budget_owner
from portal.wallet.factory import wallet_service
from portal.wallet.models import AccountKind, LedgerAccount, Transfer, TransferKind
from portal.wallet.owners import agency_owner, wallet_owner
from portal.wallet.verify import ledger_violations
from tests.factories import AdminFactory, AgencyFactory, BillFactory, FinanceFactory, UserFactory
from tests.promotions.campaign_helpers import fund, pay_bills, running_campaign


@pytest.fixture(autouse=True)
def app_context(app):
    with app.test_request_context(headers={"Cookie": f"{LOCALE_COOKIE}=en"}):  # messages in English
        yield


@pytest.fixture
def water(app, db):
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "promo-water": {"adapter": "local"}}
    return AgencyFactory(code="promo-water", name_zh="优惠水务", name_en="Promo Water")


def bill(water, amount_fen=2_000, account="0"):
    """A stored bill of household account 51000000<account> (the local agency wants 6+ characters)."""
    return BillFactory(agency=water, account_reference=f"5100{account:0>6}", amount_fen=amount_fen)


def resident(db, funds=100_000):
    user = UserFactory()
    fund(db, user, funds)
    return user


def balance(db, owner_kind, owner) -> int:
    db.flush()  # expiring drops unflushed changes (the audit chain's head among them)
    db.expire_all()
    return db.scalar(
        select(LedgerAccount.balance_fen).where(
            LedgerAccount.kind == owner_kind, LedgerAccount.owner_ref == owner
        )
    )


def test_a_discount_is_paid_from_the_budget_and_the_agency_receives_the_full_amount(app, db, water):
    campaign = running_campaign(db, amount_off_fen=500, budget_fen=10_000)
    payer = resident(db)

    payment = pay_bills(db, payer, [bill(water, 2_000)], seen=500)

    assert (payment.total_fen, payment.discount_fen) == (2_000, 500)
    assert [item.discount_fen for item in payment.items] == [500]
    assert balance(db, AccountKind.RESIDENT_WALLET, wallet_owner(payer)) == 100_000 - 1_500
    assert balance(db, AccountKind.AGENCY_SETTLEMENT, agency_owner("promo-water")) == 2_000
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) == 9_500
    assert campaign.spent_fen == 500
    discount = db.scalar(select(Transfer).where(Transfer.kind == TransferKind.DISCOUNT))
    assert (discount.amount_fen, discount.description) == (500, payment.reference)
    assert ledger_violations(db) == []


def test_campaigns_cover_only_their_agencies_or_categories(app, db, water):
    running_campaign(db, agency_codes=("someone-else",), categories=("gas",))
    payment = pay_bills(db, resident(db), [bill(water)])
    assert payment.discount_fen == 0
    assert db.scalar(select(CampaignUse)) is None


def test_the_per_resident_limit_stops_the_second_use(app, db, water):
    running_campaign(db, amount_off_fen=300, per_resident_uses=1)
    payer = resident(db)
    first = pay_bills(db, payer, [bill(water, account="1")])
    second = pay_bills(db, payer, [bill(water, account="2")])
    other = pay_bills(db, resident(db), [bill(water, account="3")])
    assert (first.discount_fen, second.discount_fen, other.discount_fen) == (300, 0, 300)


def test_the_budget_runs_out_to_the_fen_and_the_campaign_stops(app, db, water):
    campaign = running_campaign(db, amount_off_fen=500, budget_fen=700)
    payments = [pay_bills(db, resident(db), [bill(water, account=str(n))]) for n in range(3)]
    assert [p.discount_fen for p in payments] == [500, 200, 0]
    assert campaign.remaining_fen == 0
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) == 0
    assert ledger_violations(db) == []


def test_a_discount_smaller_than_the_review_showed_is_refused_and_nothing_moves(app, db, water):
    running_campaign(db, amount_off_fen=500, budget_fen=700)
    pay_bills(db, resident(db), [bill(water, account="1")])  # leaves 200
    payer = resident(db)
    with pytest.raises(DiscountChanged) as refused, db.begin_nested():
        pay_bills(db, payer, [bill(water, account="2")], seen=500)
    assert "¥2.00" in refused.value.message
    assert balance(db, AccountKind.RESIDENT_WALLET, wallet_owner(payer)) == 100_000
    assert db.scalar(select(Payment).where(Payment.user_id == payer.id)) is None


def test_the_resident_always_pays_something_from_the_wallet(app, db, water):
    running_campaign(db, amount_off_fen=5_000)
    payment = pay_bills(db, resident(db), [bill(water, 2_000)])
    assert payment.discount_fen == 1_999


def test_percentage_with_cap_and_spend_over_rules(app, db, water):
    running_campaign(db, rule=CampaignRule.PERCENT_OFF, percent_bp=1_000, cap_fen=300, name_en="ten")
    assert pay_bills(db, resident(db), [bill(water, 2_000, "1")]).discount_fen == 200
    assert pay_bills(db, resident(db), [bill(water, 9_000, "2")]).discount_fen == 300  # capped


def test_spend_over_gives_its_amount_only_from_the_threshold(app, db, water):
    running_campaign(db, rule=CampaignRule.SPEND_OVER, amount_off_fen=1_000, threshold_fen=10_000)
    assert pay_bills(db, resident(db), [bill(water, 9_999, "1")]).discount_fen == 0
    assert pay_bills(db, resident(db), [bill(water, 10_000, "2")]).discount_fen == 1_000


def test_first_payment_rule_rewards_only_a_residents_first_payment(app, db, water):
    running_campaign(db, rule=CampaignRule.FIRST_PAYMENT, amount_off_fen=800)
    payer = resident(db)
    assert pay_bills(db, payer, [bill(water, 2_000, "1")]).discount_fen == 800
    assert pay_bills(db, payer, [bill(water, 2_000, "2")]).discount_fen == 0


def test_a_discount_spreads_over_several_bills_in_proportion(app, db, water):
    running_campaign(db, amount_off_fen=1_001)
    payment = pay_bills(db, resident(db), [bill(water, 1_000, "1"), bill(water, 3_000, "1")])
    assert sorted(item.discount_fen for item in payment.items) == [250, 751]
    assert sum(item.discount_fen for item in payment.items) == payment.discount_fen == 1_001


def test_refunds_give_the_campaigns_share_back_to_its_budget(app, db, water):
    campaign = running_campaign(db, amount_off_fen=500, budget_fen=10_000)
    payer = resident(db)
    payment = pay_bills(db, payer, [bill(water, 2_000)])
    item = payment.items[0]
    wallet = wallet_service(db)
    staff = FinanceFactory()

    part = refunds.refund_item(
        db, wallet, staff, payment.reference, item.id, 1_000, "part", "refund-key-0001"
    )
    rest = refunds.refund_item(
        db, wallet, staff, payment.reference, item.id, 1_000, "rest", "refund-key-0002"
    )

    assert (part.campaign_fen, rest.campaign_fen) == (250, 250)
    assert balance(db, AccountKind.RESIDENT_WALLET, wallet_owner(payer)) == 100_000
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) == 10_000
    assert balance(db, AccountKind.AGENCY_SETTLEMENT, agency_owner("promo-water")) == 0
    assert campaign.spent_fen == 0
    use = db.scalar(select(CampaignUse))
    assert (use.discount_fen, use.returned_fen) == (500, 500)
    assert ledger_violations(db) == []
    report = campaign_report(db, campaign, "en")
    assert (report.uses, report.refunded_uses, report.given_fen, report.returned_fen) == (1, 1, 500, 500)
    [day] = report.rows  # paid and refunded on the same Beijing day
    assert (day.agency_name, day.bills, day.discount_fen, day.returned_fen) == ("Promo Water", 1, 500, 500)


def test_the_receipt_shows_what_the_resident_and_the_campaign_paid(app, db, water):
    running_campaign(db, amount_off_fen=500, name_zh="春季立减", name_en="Spring saver")
    payment = pay_bills(db, resident(db), [bill(water, 2_000)])
    receipt = next(r for r in receipts_of(db, payment.id) if r.kind is ReceiptKind.PAYMENT)
    facts = receipt_facts(db, receipt, "https://portal.example/verify")
    assert (facts["amount_fen"], facts["campaign_fen"]) == (2_000, 500)
    assert (facts["campaign_zh"], facts["campaign_en"]) == ("春季立减", "Spring saver")


def test_approval_needs_a_second_admin_and_funds_the_budget(app, db):
    maker, checker = AdminFactory(), AdminFactory()
    draft = campaigns.CampaignDraft(
        "立减", "Save", *_days(), (), (), CampaignRule.FIXED_OFF, 500, 0, 0, 0, 1, 50_000
    )
    campaign = campaigns.propose(db, maker, draft)
    with pytest.raises(ValidationFailed, match="second admin"):
        campaigns.approve(db, wallet_service(db), maker, campaign.id)
    assert campaign.state is CampaignState.PENDING
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) is None

    campaigns.approve(db, wallet_service(db), checker, campaign.id)

    assert (campaign.state, campaign.decided_by_id) == (CampaignState.ACTIVE, checker.id)
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) == 50_000
    with pytest.raises(ValidationFailed, match="already decided"):
        campaigns.reject(db, AdminFactory(), campaign.id)


def test_a_campaign_whose_period_is_over_cannot_be_approved(app, db):
    maker, checker = AdminFactory(), AdminFactory()
    today = business_day(utcnow())
    draft = campaigns.CampaignDraft(
        name_zh="过期",
        name_en="Over",
        first_day=today,
        last_day=today,
        agency_codes=(),
        categories=(),
        rule=CampaignRule.FIXED_OFF,
        amount_off_fen=500,
        percent_bp=0,
        cap_fen=0,
        threshold_fen=0,
        per_resident_uses=1,
        budget_fen=10_000,
    )
    proposed = campaigns.propose(db, maker, draft)
    proposed.ends_at = utcnow() - timedelta(seconds=1)  # the day ended before the second admin came

    with pytest.raises(ValidationFailed, match="period is over"):
        campaigns.approve(db, wallet_service(db), checker, proposed.id)
    assert proposed.state is CampaignState.PENDING


def test_a_stopped_campaign_gives_what_is_left_back_to_the_fund(app, db, water):
    campaign = running_campaign(db, amount_off_fen=500, budget_fen=10_000)
    payer = resident(db)
    payment = pay_bills(db, payer, [bill(water, 2_000)])
    admin, wallet = AdminFactory(), wallet_service(db)
    fund_before = balance(db, AccountKind.FUNDING_CLEARING, PROMOTION_FUND_OWNER)
    with pytest.raises(ValidationFailed, match="ended"):
        campaigns.return_rest(db, wallet, admin, campaign.id)  # still running

    campaigns.end(db, admin, campaign.id)
    returned = campaigns.return_rest(db, wallet, admin, campaign.id)

    assert returned == 9_500 and campaign.remaining_fen == 0
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) == 0
    assert balance(db, AccountKind.FUNDING_CLEARING, PROMOTION_FUND_OWNER) == fund_before + 9_500
    with pytest.raises(ValidationFailed, match="Nothing is left"):
        campaigns.return_rest(db, wallet, admin, campaign.id)  # a second click moves nothing

    item = payment.items[0]
    refunds.refund_item(
        db, wallet, FinanceFactory(), payment.reference, item.id, 2_000, "x", "refund-key-0009"
    )
    assert campaign.remaining_fen == 500  # the refunded share came back to the budget account
    assert campaigns.return_rest(db, wallet, admin, campaign.id) == 500
    assert balance(db, AccountKind.PROMOTION_BUDGET, budget_owner(campaign.code)) == 0
    assert ledger_violations(db) == []


def test_an_ended_campaign_gives_nothing(app, db, water):
    campaign = running_campaign(db)
    campaigns.end(db, AdminFactory(), campaign.id)
    assert pay_bills(db, resident(db), [bill(water)]).discount_fen == 0


def _days():
    from datetime import timedelta

    from portal.clock import business_day
    from portal.db import utcnow

    today = business_day(utcnow())
    return today, today + timedelta(days=30)


def test_settlement_owes_the_agency_the_full_amount_and_reconciliation_finds_nothing(app, db, water):
    from portal.clock import business_day
    from portal.db import utcnow
    from portal.reports.reconciliation import reconcile
    from portal.reports.settlement import day_overview

    running_campaign(db, amount_off_fen=500)
    payment = pay_bills(db, resident(db), [bill(water, 2_000, "1"), bill(water, 1_000, "2")])
    staff = FinanceFactory()
    item = payment.items[0]
    refunds.refund_item(
        db, wallet_service(db), staff, payment.reference, item.id, item.amount_fen, "x", "rk-00000001"
    )
    today = business_day(utcnow())

    figures = next(f for f in day_overview(db, today) if f.agency.code == "promo-water")

    assert (figures.collected_fen, figures.refunded_fen) == (3_000, item.amount_fen)
    assert (figures.payments_count, figures.refunds_count) == (1, 1)
    assert figures.owed_fen == balance(db, AccountKind.AGENCY_SETTLEMENT, agency_owner("promo-water"))
    assert reconcile(db, today, today, utcnow()).discrepancies == []


def test_notices_and_the_refund_message_name_what_the_wallet_paid_and_got_back(app, db, water):
    from portal.notify.models import Notification
    from portal.payments.views.operations import refunded_message

    running_campaign(db, amount_off_fen=500)
    payment = pay_bills(db, resident(db), [bill(water, 2_000)])
    item = payment.items[0]
    done = refunds.refund_item(
        db, wallet_service(db), FinanceFactory(), payment.reference, item.id, 2_000, "x", "rk-00000002"
    )

    notices = {
        n.kind: n.params_json
        for n in db.scalars(select(Notification).where(Notification.user_id == payment.user_id))
    }
    assert '"total_fen": 1500' in notices["paid"] and '"amount_fen": 1500' in notices["refunded"]
    assert (
        refunded_message(done)
        == "Refunded ¥15.00 to the resident's wallet. ¥5.00 went back to the campaign's budget."
    )
