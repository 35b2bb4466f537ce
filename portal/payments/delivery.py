"""What the outbox worker does with the payments' topics: tell an agency about a paid bill or a refund."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import events
from portal.agencies.base import Ack, AdapterContext, PaymentConfirmation, RefundNotice, call_adapter
from portal.agencies.models import Agency
from portal.agencies.registry import adapter_for
from portal.audit.services import record
from portal.db import Database, utcnow
from portal.outbox import OutboxMessage, OutboxState
from portal.payments import refunds
from portal.payments.models import (
    CONFIRM_TOPIC,
    ItemState,
    Payment,
    PaymentChannel,
    PaymentItem,
    PaymentState,
    Refund,
)
from portal.payments.refunds import REFUND_TOPIC
from portal.payments.states import advance_item, settle_payment_state
from portal.wallet.factory import wallet_service
from portal.wallet.owners import agency_owner


class AgencyNotAvailable(RuntimeError):
    """The agency has no enabled adapter now; the confirmation waits for it."""


def confirm_to_agency(database: Database, payload: dict) -> Callable[[Session], None]:
    with database.sessionmaker() as session:
        item = session.get(PaymentItem, payload["item"])
        agency = session.scalar(select(Agency).where(Agency.code == payload["agency"]))
        adapter = adapter_for(agency, AdapterContext(session=lambda: session)) if agency else None
        if adapter is None:
            raise AgencyNotAvailable(payload["agency"])
        confirmation = PaymentConfirmation(
            payment_id=f"{item.payment.reference}-{item.id}",
            agency_code=agency.code,
            bill_id=item.bill_id,
            amount_fen=item.amount_fen,
            paid_at=item.payment.paid_at,
        )
        ack = call_adapter(adapter, "confirm_payment", confirmation)
    return lambda session: apply_ack(session, payload["item"], payload["agency"], ack)


def apply_ack(session: Session, item_id: int, agency_code: str, ack: Ack) -> None:
    """Record an agency's answer. The payment row is locked first, so two workers answering two bills
    of one payment settle its state one after the other."""
    payment_id = session.scalar(select(PaymentItem.payment_id).where(PaymentItem.id == item_id))
    payment = session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    items = session.scalars(
        select(PaymentItem)
        .where(PaymentItem.payment_id == payment_id)
        .execution_options(populate_existing=True)
    ).all()  # the rows as of the lock: a refund may have changed them since this session read them
    item = next(item for item in items if item.id == item_id)
    if ack.accepted and advance_item(item, ItemState.CONFIRMED):
        item.agency_reference = ack.agency_reference[:64]
        item.agency_amount_fen = ack.amount_fen
        item.confirmed_at = utcnow()
        events.publish(session, events.PaymentConfirmed(payment.id, item.id))
    elif not ack.accepted and advance_item(item, ItemState.REJECTED):
        _refund_rejected(session, payment, item, agency_code)
    before = payment.state
    if settle_payment_state(payment) is PaymentState.CONFIRMED and before is not PaymentState.CONFIRMED:
        payment.confirmed_at = utcnow()
    record(
        session, "worker", f"payment.{item.state.value}", f"payment:{payment.reference}", bill=item.bill_id
    )


def _refund_rejected(session: Session, payment: Payment, item: PaymentItem, agency_code: str) -> None:
    """An agency refused a bill: what is left of its money (finance may have refunded part already) goes
    straight back to the wallet, with a refund receipt."""
    left = item.amount_fen - item.refunded_fen
    if left <= 0:
        return
    wallet = wallet_service(session, client="worker")
    if payment.channel is PaymentChannel.COUNTER:
        _owe_back_at_counter(session, wallet, payment, item, agency_code, left)
        return
    transfer, share = refunds.return_money(
        session, wallet, payment, item, agency_code, left, f"rejected:{item.id}"
    )
    item.refunded_fen += left
    payment.refunded_fen += left
    event = events.PaymentRefunded(payment.id, left, left - share, transfer, f"rejected:{item.id}")
    events.publish(session, event)  # the refund receipt and the resident's notice


def _owe_back_at_counter(
    session: Session, wallet, payment: Payment, item: PaymentItem, agency: str, left: int
):
    """No wallet paid a counter payment: the money waits in the counter refunds due account until the
    hall pays the payer back in person; finance sees it on the reconciliation page."""
    wallet.owe_back(
        payment.transfer_reference,
        left,
        idempotency_key=f"refund:rejected:{item.id}",
        agency=agency_owner(agency),
    )
    item.refunded_fen += left
    payment.refunded_fen += left
    events.publish(session, events.CounterPaymentOwedBack(payment.id, left))
    record(
        session,
        "worker",
        "payment.counter_refund_due",
        f"payment:{payment.reference}",
        bill=item.bill_id,
        amount_fen=left,
    )


class ConfirmationFirst(RuntimeError):
    """The agency must hear of the payment before it hears of its refund; tried again later."""


def refund_to_agency(database: Database, payload: dict) -> Callable[[Session], None]:
    with database.sessionmaker() as session:
        refund = session.get(Refund, payload["refund"])
        confirmation = session.scalar(
            select(OutboxMessage.state).where(OutboxMessage.dedupe_key == f"confirm:{refund.payment_item_id}")
        )
        if confirmation is not None and confirmation is not OutboxState.DELIVERED:
            raise ConfirmationFirst(f"confirmation of line {refund.payment_item_id} not delivered yet")
        agency = session.scalar(select(Agency).where(Agency.code == payload["agency"]))
        adapter = adapter_for(agency, AdapterContext(session=lambda: session)) if agency else None
        if adapter is None:
            raise AgencyNotAvailable(payload["agency"])
        notice = RefundNotice(
            refund_id=refund.reference,
            payment_id=f"{refund.item.payment.reference}-{refund.item.id}",
            agency_code=agency.code,
            bill_id=refund.item.bill_id,
            amount_fen=refund.amount_fen,
            refunded_at=refund.created_at,
            reason=refund.reason,
        )
        call_adapter(adapter, "notify_refund", notice)
    return lambda session: None  # nothing to record beyond the delivery itself


HANDLERS = {
    CONFIRM_TOPIC: confirm_to_agency,
    REFUND_TOPIC: refund_to_agency,
}
