"""The payment state machine. States only move forward: a late or repeated message from an agency can
never take a confirmed payment back to an earlier state (indico's state-transition classes)."""

from __future__ import annotations

from portal.payments.models import ItemState, Payment, PaymentItem, PaymentState

PAYMENT_MOVES = {
    PaymentState.PENDING: {PaymentState.PAID},
    PaymentState.PAID: {PaymentState.CONFIRMED, PaymentState.FAILED, PaymentState.REFUNDED},
    PaymentState.CONFIRMED: {PaymentState.REFUNDED},
    PaymentState.FAILED: set(),
    PaymentState.REFUNDED: set(),
}
ITEM_MOVES = {
    ItemState.AWAITING: {ItemState.CONFIRMED, ItemState.REJECTED, ItemState.REFUNDED},
    ItemState.CONFIRMED: {ItemState.REFUNDED},
    ItemState.REJECTED: set(),
    ItemState.REFUNDED: set(),
}


class InvalidTransition(RuntimeError):
    """A move the state machine does not allow, asked for by the portal's own code (a bug)."""


def move_payment(payment: Payment, target: PaymentState) -> None:
    if target not in PAYMENT_MOVES[payment.state]:
        raise InvalidTransition(f"payment {payment.reference}: {payment.state} -> {target}")
    payment.state = target


def advance_item(item: PaymentItem, target: ItemState) -> bool:
    """Apply an agency's news to one bill; False (nothing changed) when it would move backwards."""
    if target not in ITEM_MOVES[item.state]:
        return False
    item.state = target
    return True


def settle_payment_state(payment: Payment) -> PaymentState:
    """The payment's state once its bills' states changed: confirmed when every agency has answered and
    at least one accepted; failed when every agency refused."""
    states = {item.state for item in payment.items}
    if payment.state is PaymentState.PAID and ItemState.AWAITING not in states:
        if states == {ItemState.REJECTED}:
            move_payment(payment, PaymentState.FAILED)
        elif ItemState.CONFIRMED in states:
            move_payment(payment, PaymentState.CONFIRMED)
        elif payment.refunded_fen == payment.total_fen:  # refunded by finance, the rest refused
            move_payment(payment, PaymentState.REFUNDED)
    return payment.state
