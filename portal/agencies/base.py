"""The agency adapter protocol: frozen values in and out, no database in the protocol itself.

An adapter declares what it needs to find a resident's bills (its query fields), how bills may be paid
(its amount rule), and implements lookup() and confirm_payment(). Callers never call those directly:
call_adapter() times each call, logs it, and turns any failure into AgencyUnavailable, so one failing
agency never breaks a page that shows others.
"""

from __future__ import annotations

import enum
import logging
import re
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import metrics
from portal.errors import PortalError

log = logging.getLogger("portal.agencies")


class AmountRule(enum.StrEnum):
    EXACT = "exact"  # the bill is paid in full
    PARTIAL = "partial"  # any amount from a minimum up to what is due
    ANY = "any"  # any positive amount (deposits, prepaid meters)


class BillStatus(enum.StrEnum):
    UNPAID = "unpaid"
    OVERDUE = "overdue"
    PAID = "paid"
    CANCELLED = "cancelled"


BILL_STATUS_LABELS = {
    BillStatus.UNPAID: _l("Unpaid"),
    BillStatus.OVERDUE: _l("Overdue"),
    BillStatus.PAID: _l("Paid"),
    BillStatus.CANCELLED: _l("Cancelled"),
}


@dataclass(frozen=True)
class QueryField:
    """One input the agency needs, e.g. the household account number (户号)."""

    name: str
    label_zh: str
    label_en: str
    pattern: str  # a full-match regular expression, checked before any call to the agency
    hint_zh: str = ""
    hint_en: str = ""
    # Personal data such as a resident ID number: saved accounts keep it only encrypted and the bill
    # pages carry it only inside opaque tokens (portal/bills/services.py, portal/payments/checkout.py).
    sensitive: bool = False

    def normalise(self, value: str) -> str | None:
        """The value as the agency expects it if it matches the pattern, else None. Chinese input methods
        type full-width letters and digits (３１００, Ａ), and people copy plates and numbers with spaces
        ("渝A 12345"): full-width becomes ASCII, letters upper case, and spaces go when the pattern has
        no room for them."""
        text = unicodedata.normalize("NFKC", value).strip().upper() if value else ""
        if re.fullmatch(self.pattern, text):
            return text
        compact = re.sub(r"\s+", "", text)
        return compact if re.fullmatch(self.pattern, compact) else None


@dataclass(frozen=True)
class AmountPolicy:
    rule: AmountRule = AmountRule.EXACT
    minimum_fen: int = 0


@dataclass(frozen=True)
class BillQuery:
    agency_code: str
    values: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str:
        return dict(self.values).get(name, "")


@dataclass(frozen=True)
class BillView:
    agency_code: str
    bill_id: str
    account_reference: str
    payer_name: str
    description: str
    period: str
    amount_due_fen: int
    late_fee_fen: int
    due_date: date | None
    status: BillStatus

    @property
    def total_fen(self) -> int:
        return self.amount_due_fen + self.late_fee_fen


@dataclass(frozen=True)
class PaymentConfirmation:
    payment_id: str
    agency_code: str
    bill_id: str
    amount_fen: int
    paid_at: datetime


@dataclass(frozen=True)
class RefundNotice:
    """The portal refunded (part of) a paid bill; the agency may reopen the bill."""

    refund_id: str  # idempotency: the same notice may arrive more than once
    payment_id: str  # as in the PaymentConfirmation of the bill
    agency_code: str
    bill_id: str
    amount_fen: int
    refunded_at: datetime
    reason: str


@dataclass(frozen=True)
class Ack:
    payment_id: str
    accepted: bool
    agency_reference: str = ""
    amount_fen: int | None = None  # what the agency recorded, when it says: reconciliation compares it


@dataclass(frozen=True)
class AgencyConfig:
    """What the portal knows of one agency: its row in the agencies table plus adapter settings."""

    code: str
    name_zh: str
    name_en: str
    category: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdapterContext:
    """What the portal lends an adapter; built-in adapters may use the portal's database session."""

    session: Callable[[], Any] | None = None


class AgencyAdapter(ABC):
    """Subclass this, declare ``adapter_name``, ``fields`` and ``amount_policy``, and register the class
    in the ``portal.agencies`` entry-point group."""

    adapter_name: ClassVar[str]
    fields: ClassVar[tuple[QueryField, ...]]
    amount_policy: ClassVar[AmountPolicy] = AmountPolicy()

    def __init__(self, config: AgencyConfig, context: AdapterContext) -> None:
        self.config = config
        self.context = context

    @property
    def code(self) -> str:
        return self.config.code

    @abstractmethod
    def lookup(self, query: BillQuery) -> list[BillView]:
        """The bills for this query (empty when none match)."""

    @abstractmethod
    def confirm_payment(self, confirmation: PaymentConfirmation) -> Ack:
        """Tell the agency a bill was paid; must be idempotent by payment id."""

    def notify_refund(self, notice: RefundNotice) -> Ack:
        """Tell the agency a paid bill was refunded (idempotent by refund id). Agencies that keep no
        record of payments of their own need not override this."""
        return Ack(payment_id=notice.payment_id, accepted=True)


class AgencyUnavailable(PortalError):
    """The agency did not answer properly; the message says so without internals."""

    def __init__(self, agency_code: str) -> None:
        super().__init__(_("This agency is temporarily unavailable. Please try again later."))
        self.agency_code = agency_code


def call_adapter(adapter: AgencyAdapter, operation: str, argument: Any) -> Any:
    """Run adapter.<operation>(argument), timed and logged; any failure becomes AgencyUnavailable."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        return getattr(adapter, operation)(argument)
    except Exception as error:  # an adapter's failure must never become the page's failure
        outcome = f"failed: {type(error).__name__}"
        log.warning("agency %s %s failed", adapter.code, operation, exc_info=True)
        raise AgencyUnavailable(adapter.code) from error
    finally:
        elapsed = time.perf_counter() - started
        log.info("agency %s %s %s in %.1f ms", adapter.code, operation, outcome, elapsed * 1000)
        metrics.observe_agency_call(adapter.code, operation, outcome == "ok", elapsed)
