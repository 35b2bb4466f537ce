"""Imports every domain's models so that Base.metadata is complete (for Alembic and tests)."""

from portal import outbox as outbox_models
from portal.accounts import models as accounts_models
from portal.agencies import models as agencies_models
from portal.analytics import models as analytics_models
from portal.audit import models as audit_models
from portal.autopay import models as autopay_models
from portal.batches import models as batches_models
from portal.bills import models as bills_models
from portal.counter import models as counter_models
from portal.db import Base
from portal.disputes import models as disputes_models
from portal.guest import models as guest_models
from portal.main import models as main_models
from portal.notify import models as notify_models
from portal.payments import models as payments_models
from portal.promotions import models as promotions_models
from portal.receipts import models as receipts_models
from portal.reports import models as reports_models
from portal.risk import models as risk_models
from portal.wallet import models as wallet_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "agencies_models",
    "analytics_models",
    "audit_models",
    "autopay_models",
    "batches_models",
    "bills_models",
    "counter_models",
    "disputes_models",
    "guest_models",
    "main_models",
    "metadata",
    "notify_models",
    "outbox_models",
    "payments_models",
    "promotions_models",
    "receipts_models",
    "reports_models",
    "risk_models",
    "wallet_models",
]
