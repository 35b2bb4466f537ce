"""Raising a dispute: on one bill of a payment the resident made here, or on a bill of one of their
saved accounts that was not paid here (its amount is wrong, or they paid it elsewhere and the agency
still shows it unpaid). Either way: a reference, the first deadline, the step, the audit entry and the
resident's notice, in the caller's transaction."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.bills.services import saved_accounts
from portal.db import utcnow
from portal.disputes.attachments import CheckedFile
from portal.disputes.calendar import deadline
from portal.disputes.models import UNPAID_KINDS, Dispute, DisputeAttachment, DisputeKind, DisputeState
from portal.disputes.services import DEADLINE_WORKING_DAYS, DESCRIPTION_LIMITS, checked_text, step
from portal.errors import NotFound, ValidationFailed
from portal.numbering import random_code
from portal.payments import checkout
from portal.payments.models import Payment, PaymentItem


def open_dispute(
    session: Session,
    user: User,
    payment_reference: str,
    item_id: int,
    kind: DisputeKind,
    description: str,
    attachment: CheckedFile | None = None,
) -> Dispute:
    """A dispute on one bill of the resident's payment; NotFound for anyone else's payment."""
    payment = session.scalar(select(Payment).where(Payment.reference == payment_reference))
    if payment is None or payment.user_id != user.id:
        raise NotFound(_("That payment does not exist."))
    item = session.get(PaymentItem, item_id)
    if item is None or item.payment_id != payment.id:
        raise ValidationFailed(_("Choose one of the payment's bills."), field="bill")
    text = checked_text(description, DESCRIPTION_LIMITS, "description")
    session.scalar(select(Payment.id).where(Payment.id == payment.id).with_for_update())  # one at a time
    if session.scalar(
        select(Dispute.reference).where(
            Dispute.payment_item_id == item.id, Dispute.state != DisputeState.CLOSED
        )
    ):
        raise ValidationFailed(_("You already have a dispute on this bill. Follow it from your disputes."))
    dispute = Dispute(payment_id=payment.id, payment_item_id=item.id, agency_id=item.agency_id)
    return _open(session, user, dispute, kind, text, attachment)


def bill_of_saved_account(
    session: Session, user: User, selection_token: str, locale: str
) -> checkout.QuoteLine:
    """The bill a button of the resident's saved accounts page names, as its agency reports it now;
    NotFound when the bill is not one of their saved accounts' (or the button was not ours)."""
    selection = checkout.selection_from_token(selection_token)
    mine = selection is not None and any(
        account.agency.code == selection.agency_code
        and tuple(sorted(account.query.items())) == selection.query
        for account in saved_accounts(session, user)
    )
    if not mine:
        raise NotFound(_("That bill is not one of your saved accounts' bills."))
    return checkout.quote(session, [selection], locale).lines[0]


def open_bill_dispute(
    session: Session,
    user: User,
    selection_token: str,
    kind: DisputeKind,
    description: str,
    attachment: CheckedFile | None,
    locale: str,
) -> Dispute:
    """A dispute on a bill of one of the resident's saved accounts that was not paid here."""
    line = bill_of_saved_account(session, user, selection_token, locale)
    if kind not in UNPAID_KINDS:
        raise ValidationFailed(
            _("This bill was not paid through the portal: choose what is wrong with the bill itself."),
            field="kind",
        )
    text = checked_text(description, DESCRIPTION_LIMITS, "description")
    agency = session.scalar(select(Agency).where(Agency.code == line.bill.agency_code))
    session.scalar(select(User.id).where(User.id == user.id).with_for_update())  # one at a time
    if session.scalar(
        select(Dispute.reference).where(
            Dispute.user_id == user.id,
            Dispute.agency_id == agency.id,
            Dispute.bill_id == line.bill.bill_id,
            Dispute.state != DisputeState.CLOSED,
        )
    ):
        raise ValidationFailed(_("You already have a dispute on this bill. Follow it from your disputes."))
    dispute = Dispute(
        agency_id=agency.id,
        bill_id=line.bill.bill_id,
        account_reference=line.bill.account_reference,
        bill_amount_fen=line.bill.total_fen,
    )
    return _open(session, user, dispute, kind, text, attachment)


def _open(
    session: Session,
    user: User,
    dispute: Dispute,
    kind: DisputeKind,
    text: str,
    attachment: CheckedFile | None,
) -> Dispute:
    now = utcnow()
    dispute.reference = "D" + random_code(11)
    dispute.user_id, dispute.kind, dispute.description = user.id, kind, text
    dispute.state, dispute.opened_at, dispute.state_since = DisputeState.OPEN, now, now
    dispute.due_at = deadline(session, now, DEADLINE_WORKING_DAYS[DisputeState.OPEN])
    session.add(dispute)
    if attachment is not None:
        dispute.attachment = DisputeAttachment(
            file_name=attachment.file_name,
            content_type=attachment.content_type,
            size_bytes=len(attachment.content),
            sha256=attachment.sha256,
            content=attachment.content,
        )
    step(session, dispute, DisputeState.OPEN, f"user:{user.id}", None, kind=kind.value)
    return dispute
