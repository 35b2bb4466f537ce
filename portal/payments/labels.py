"""What residents read for each payment and bill state."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary
from portal.payments.models import ItemState, PaymentChannel, PaymentState

PAYMENT_STATE_LABELS = {
    PaymentState.PENDING: _l("Pending"),
    PaymentState.PAID: _l("Paid, awaiting the agency"),
    PaymentState.CONFIRMED: _l("Confirmed by the agency"),
    PaymentState.FAILED: _l("Failed, money returned"),
    PaymentState.REFUNDED: _l("Refunded"),
}
PAYMENT_STATE_HELP = {
    PaymentState.PENDING: _l("The payment is being processed."),
    PaymentState.PAID: _l(
        "The money has left your wallet and the bill is paid. The agency is being told; this usually takes "
        "a minute, and we keep trying for days if it is offline. You need not pay again."
    ),
    PaymentState.CONFIRMED: _l("The agency has recorded your payment."),
    PaymentState.FAILED: _l("The agency refused the payment. The money is back in your wallet."),
    PaymentState.REFUNDED: _l("The payment was refunded to your wallet."),
}
ITEM_STATE_LABELS = {
    ItemState.AWAITING: _l("Being sent to the agency"),
    ItemState.CONFIRMED: _l("Confirmed"),
    ItemState.REJECTED: _l("Refused, money returned"),
    ItemState.REFUNDED: _l("Refunded"),
}

CHANNEL_LABELS = {
    PaymentChannel.WEB: _l("Portal"),
    PaymentChannel.AUTOPAY: _l("Auto-pay"),
    PaymentChannel.GUEST: _l("Without signing in"),
    PaymentChannel.COUNTER: _l("Service hall counter"),
}

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "outbox.resend": _l("Agency message sent again"),
        "payment.paid": _l("Bills paid"),
        "payment.confirmed": _l("Payment confirmed by the agency"),
        "payment.rejected": _l("Payment refused by the agency"),
        "payment.refunded": _l("Payment refunded"),
        "payment.counter_refund_due": _l("Counter payment refused by the agency: owed back to the payer"),
    },
    subjects={"payment": _l("Payment %(ref)s"), "outbox": _l("Agency message %(ref)s")},
    values={
        "state": PAYMENT_STATE_LABELS,
        "channel": CHANNEL_LABELS,
        "topic": {
            "agency.confirm": _l("payment confirmation to the agency"),
            "agency.refund": _l("refund notice to the agency"),
        },
    },
)
