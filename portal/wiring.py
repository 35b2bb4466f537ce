"""Where the domains meet, in one place that can be read: the words each domain gives the audit log,
who listens to which domain event, and which worker handler carries out which outbox topic.

This module sits above every domain (create_app calls it); the domains themselves never import one
another upwards, they publish events (``portal.events``) and queue outbox messages instead."""

from __future__ import annotations

from flask import Flask

from portal import events, metrics, screening
from portal.accounts import labels as accounts_labels
from portal.agencies import labels as agencies_labels
from portal.analytics import labels as analytics_labels
from portal.analytics import reactions as analytics_reactions
from portal.audit import labels as audit_labels
from portal.autopay import labels as autopay_labels
from portal.autopay import reactions as autopay_reactions
from portal.batches import jobs as batch_jobs
from portal.batches import labels as batches_labels
from portal.counter import labels as counter_labels
from portal.disputes import labels as disputes_labels
from portal.guest import labels as guest_labels
from portal.notify import delivery as notify_delivery
from portal.notify import labels as notify_labels
from portal.notify import reactions as notify_reactions
from portal.payments import delivery as payments_delivery
from portal.payments import figures as payments_figures
from portal.payments import labels as payments_labels
from portal.promotions import labels as promotions_labels
from portal.receipts import labels as receipts_labels
from portal.receipts import reactions as receipts_reactions
from portal.receipts import rendering as receipts_rendering
from portal.reports import labels as reports_labels
from portal.risk import checks as risk_checks
from portal.risk import labels as risk_labels
from portal.wallet import labels as wallet_labels
from portal.wallet import reactions as wallet_reactions

AUDIT_VOCABULARIES = (
    accounts_labels.AUDIT_VOCABULARY,
    agencies_labels.AUDIT_VOCABULARY,
    analytics_labels.AUDIT_VOCABULARY,
    autopay_labels.AUDIT_VOCABULARY,
    batches_labels.AUDIT_VOCABULARY,
    counter_labels.AUDIT_VOCABULARY,
    disputes_labels.AUDIT_VOCABULARY,
    guest_labels.AUDIT_VOCABULARY,
    notify_labels.AUDIT_VOCABULARY,
    payments_labels.AUDIT_VOCABULARY,
    promotions_labels.AUDIT_VOCABULARY,
    receipts_labels.AUDIT_VOCABULARY,
    reports_labels.AUDIT_VOCABULARY,
    risk_labels.AUDIT_VOCABULARY,
    wallet_labels.AUDIT_VOCABULARY,
)


# Who reacts to what, in the order they run. In the publisher's transaction:
IN_TRANSACTION = (
    (events.PaymentPaid, receipts_reactions.payment_paid),
    (events.PaymentPaid, notify_reactions.payment_paid),
    (events.PaymentConfirmed, notify_reactions.payment_confirmed),
    (events.PaymentRefunded, receipts_reactions.payment_refunded),
    (events.PaymentRefunded, notify_reactions.payment_refunded),
    (events.PaymentRefunded, analytics_reactions.payment_refunded),
    (events.CounterPaymentOwedBack, analytics_reactions.payment_refunded),
    (events.IdentityVerified, wallet_reactions.identity_verified),
    (events.WalletFrozen, notify_reactions.wallet_frozen),
    (events.WalletUnfrozen, notify_reactions.wallet_unfrozen),
    (events.PasswordResetRequested, notify_reactions.password_reset_requested),
    (events.CampaignApproved, notify_reactions.campaign_approved),
)
# Later, in the worker, through the outbox:
LATER = ((events.BatchLoaded, autopay_reactions.batch_loaded),)

# What the worker does with each outbox topic.
OUTBOX_HANDLERS = {
    **payments_delivery.HANDLERS,
    **receipts_rendering.HANDLERS,
    **batch_jobs.HANDLERS,
    **notify_delivery.HANDLERS,
    events.LATER_TOPIC: events.run_later,
}


def init_app(app: Flask) -> None:
    audit_labels.register(*AUDIT_VOCABULARIES)
    screening.register(risk_checks.check)
    if payments_figures.payments_by_state not in metrics.DOMAIN_FIGURES:
        metrics.DOMAIN_FIGURES.append(payments_figures.payments_by_state)
    for event_type, listener in IN_TRANSACTION:
        events.subscribe(event_type, listener)
    for event_type, listener in LATER:
        events.subscribe_later(event_type, listener)
