"""What residents are told when something happens elsewhere: the notify domain's listeners to domain
events (subscribed in ``portal.wiring``). Each queues one notice keyed by the event, in the event's
transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from portal import events
from portal.accounts.models import User
from portal.notify import services
from portal.payments.models import Payment
from portal.promotions.models import Campaign
from portal.promotions.wording import offer_facts


def payment_paid(session: Session, event: events.PaymentPaid) -> None:
    payment = session.get(Payment, event.payment_id)
    if payment.user_id is not None:  # a counter payment has no resident to tell: its payer holds the receipt
        services.payment_paid(session, payment)


def payment_confirmed(session: Session, event: events.PaymentConfirmed) -> None:
    """A resident told that this bill's confirmation was late is told it came (the notice promised it)."""
    services.late_confirmation_arrived(session, event.item_id)


def payment_refunded(session: Session, event: events.PaymentRefunded) -> None:
    payment = session.get(Payment, event.payment_id)
    if payment.user_id is None:  # paid at a counter: no resident to tell; the hall pays the payer back
        return
    params = {"reference": payment.reference, "amount_fen": event.wallet_fen}  # what went back to the wallet
    services.queue(session, payment.user_id, "refunded", event.notice_key, params)


def wallet_frozen(session: Session, event: events.WalletFrozen) -> None:
    services.wallet_frozen(session, event.user_id, event.flag_id)


def wallet_unfrozen(session: Session, event: events.WalletUnfrozen) -> None:
    services.wallet_unfrozen(session, event.user_id, event.request_id)


def password_reset_requested(session: Session, event: events.PasswordResetRequested) -> None:
    user = session.get(User, event.user_id)
    valid_for = timedelta(seconds=event.valid_for_seconds)
    services.password_reset(session, user, event.url, valid_for, event.locale)


def campaign_approved(session: Session, event: events.CampaignApproved) -> None:
    campaign = session.get(Campaign, event.campaign_id)
    services.announce_campaign(session, campaign.code, offer_facts(session, campaign))
