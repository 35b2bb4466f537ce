"""Where the domains meet, in one place that can be read: the words each domain gives the audit log,
who listens to which domain event, and which worker handler carries out which outbox topic.

This module sits above every domain (create_app calls it); the domains themselves never import one
another upwards, they publish events (``portal.events``) and queue outbox messages instead."""

from __future__ import annotations

from flask import Flask

from portal.accounts import labels as accounts_labels
from portal.agencies import labels as agencies_labels
from portal.audit import labels as audit_labels
from portal.batches import labels as batches_labels
from portal.notify import labels as notify_labels
from portal.payments import labels as payments_labels
from portal.promotions import labels as promotions_labels
from portal.receipts import labels as receipts_labels
from portal.reports import labels as reports_labels
from portal.risk import labels as risk_labels
from portal.wallet import labels as wallet_labels

AUDIT_VOCABULARIES = (
    accounts_labels.AUDIT_VOCABULARY,
    agencies_labels.AUDIT_VOCABULARY,
    batches_labels.AUDIT_VOCABULARY,
    notify_labels.AUDIT_VOCABULARY,
    payments_labels.AUDIT_VOCABULARY,
    promotions_labels.AUDIT_VOCABULARY,
    receipts_labels.AUDIT_VOCABULARY,
    reports_labels.AUDIT_VOCABULARY,
    risk_labels.AUDIT_VOCABULARY,
    wallet_labels.AUDIT_VOCABULARY,
)


def init_app(app: Flask) -> None:
    audit_labels.register(*AUDIT_VOCABULARIES)
