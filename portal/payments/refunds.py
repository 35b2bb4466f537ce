"""Refunds by finance staff: (part of) one paid bill back to the resident's wallet, once per key.

In one transaction: the ledger's reversing transfer (and, for a bill a campaign paid part of, the
campaign's share back to its budget), the bill reopened where the portal holds it, the
agency told through the outbox, a refund receipt, the audit event. The payment row is locked first, so
two refunds of one payment are checked one after the other and never exceed what was paid.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import events, outbox
from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.bills.models import Bill, StoredBillStatus
from portal.errors import NotFound, ValidationFailed
from portal.money import format_fen
from portal.numbering import random_code
from portal.payments.models import ItemState, Payment, PaymentItem, PaymentState, Refund
from portal.payments.states import advance_item, move_payment
from portal.promotions import discounts
from portal.promotions.rules import share_of_refund
from portal.wallet.campaigns import budget_owner
from portal.wallet.owners import agency_owner

REFUND_TOPIC = "agency.refund"


def payment_for_staff(session: Session, reference: str) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.reference == reference.strip().upper()))
    if payment is None:
        raise NotFound(_("No payment with reference %(reference)s was found.", reference=reference))
    return payment


def refund_item(
    session: Session,
    wallet,
    staff: User,
    payment_reference: str,
    item_id: int,
    amount_fen: int,
    reason: str,
    key: str,
) -> Refund:
    """Refund amount_fen of one bill of the payment. The same key again returns the first refund and
    moves nothing."""
    item = session.get(PaymentItem, item_id)
    if item is None or item.payment.reference != payment_reference:
        raise NotFound(_("That bill is not part of this payment."))
    payment = session.scalar(
        select(Payment)
        .where(Payment.id == item.payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the row as of the lock
    )
    if payment.user_id is None:  # no wallet to return it to: the payer had paid cash or a card
        raise ValidationFailed(_("A counter payment is refunded at the service hall that took it."))
    existing = session.scalar(select(Refund).where(Refund.idempotency_key == key))  # after the lock
    if existing is not None:
        if (existing.payment_item_id, existing.amount_fen) != (item_id, amount_fen):
            raise ValidationFailed(_("This refund form was already used. Open the payment again."))
        return existing
    session.refresh(item)  # the values as of the lock, not as first read
    left = item.amount_fen - item.refunded_fen
    if item.state not in (ItemState.AWAITING, ItemState.CONFIRMED) or left <= 0:
        raise ValidationFailed(_("Nothing of this bill is left to refund."), field="amount")
    if not 0 < amount_fen <= left:
        raise ValidationFailed(_("Refund at most %(left)s.", left=format_fen(left)), field="amount")
    agency_code = session.scalar(select(Agency.code).where(Agency.id == item.agency_id))
    transfer_reference, share = return_money(session, wallet, payment, item, agency_code, amount_fen, key)
    refund = Refund(
        reference="R" + random_code(15),
        idempotency_key=key,
        payment_item_id=item.id,
        amount_fen=amount_fen,
        campaign_fen=share,
        reason=reason.strip()[:200],
        staff_user_id=staff.id,
        transfer_reference=transfer_reference,
    )
    session.add(refund)
    item.refunded_fen += amount_fen
    payment.refunded_fen += amount_fen
    if item.refunded_fen == item.amount_fen:
        advance_item(item, ItemState.REFUNDED)
        _reopen_local_bill(session, item)
    if payment.refunded_fen == payment.total_fen:
        move_payment(payment, PaymentState.REFUNDED)
    _after_refund(session, staff, payment, item, refund, agency_code)
    return refund


def return_money(
    session: Session, wallet, payment: Payment, item: PaymentItem, agency_code: str, amount_fen: int, key: str
) -> tuple[str, int]:
    """Move amount_fen of a paid bill back: the campaign's share (if one paid part of the bill) to its
    budget, the rest to the resident's wallet. Returns the transfer a receipt names (the wallet's,
    unless the campaign's share was all of it) and the campaign's share. The caller updates the item."""
    # The campaign's row is locked before any ledger account, as a payment does.
    share = share_of_refund(item.discount_fen, item.amount_fen, item.refunded_fen, amount_fen)
    campaign = discounts.give_back(session, payment.id, share)
    transfers = []
    if amount_fen > share:
        transfers.append(
            wallet.refund(
                payment.transfer_reference,
                amount_fen - share,
                idempotency_key=f"refund:{key}",
                agency=agency_owner(agency_code),
            )
        )
    if share:
        transfers.append(
            wallet.return_discount(
                budget_owner(campaign.code),
                agency_owner(agency_code),
                share,
                idempotency_key=f"refund-discount:{key}",
                description=payment.reference,
            )
        )
    return transfers[0].reference, share


def _reopen_local_bill(session: Session, item: PaymentItem) -> None:
    """A bill the portal holds is open again once its payment is wholly refunded."""
    if item.settles_bill:
        session.execute(
            update(Bill)
            .where(Bill.agency_id == item.agency_id, Bill.bill_no == item.bill_id)
            .where(Bill.status == StoredBillStatus.PAID)
            .values(status=StoredBillStatus.UNPAID)
        )


def _after_refund(
    session: Session, staff: User, payment: Payment, item: PaymentItem, refund: Refund, agency_code: str
) -> None:
    session.flush()  # the refund's id names the agency notice
    outbox.enqueue(
        session,
        REFUND_TOPIC,
        f"refund:{refund.id}",
        {"refund": refund.id, "item": item.id, "agency": agency_code},
    )
    record(
        session,
        f"user:{staff.id}",
        "payment.refunded",
        f"payment:{payment.reference}",
        bill=item.bill_id,
        amount_fen=refund.amount_fen,
        campaign_fen=refund.campaign_fen,
        reason=refund.reason,
        refund=refund.reference,
    )
    wallet_fen = refund.amount_fen - refund.campaign_fen  # the campaign's share went back to its budget
    event = events.PaymentRefunded(
        payment.id, refund.amount_fen, wallet_fen, refund.transfer_reference, f"refund:{refund.reference}"
    )
    events.publish(session, event)  # the refund receipt and the resident's notice
