"""A dispute's life: the resident raises it (``opening``), finance sends it to the agency,
the agency's clerk answers, finance resolves it (a refund through the payments' refund service,
corrected, or rejected with a reason), the resident accepts or reopens it within the reopen window.

States only move forward (reopening is the one way back, to open). Each move is one step on the
timeline, one audit entry and one notice to the resident, in the same transaction. The dispute row
is locked before a move, so a form sent twice moves it once. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.authz import Role
from portal.clock import aware, business_day
from portal.db import Database, utcnow
from portal.disputes.calendar import deadline
from portal.disputes.models import (
    Dispute,
    DisputeOutcome,
    DisputeState,
    DisputeStep,
)
from portal.errors import NotFound, ValidationFailed
from portal.notify.services import queue
from portal.payments import refunds
from portal.payments.models import Payment, PaymentItem

# Working days each state may last before the dispute is overdue (Beijing calendar).
DEADLINE_WORKING_DAYS = {DisputeState.OPEN: 2, DisputeState.WITH_AGENCY: 5, DisputeState.ANSWERED: 3}
REOPEN_DAYS = 15  # calendar days after the answer in which the resident may reopen
DESCRIPTION_LIMITS = (10, 2000)
NOTE_LIMIT = 1000
MOVES = {  # state -> the states a dispute may move to from it
    DisputeState.OPEN: (DisputeState.WITH_AGENCY, DisputeState.ANSWERED, DisputeState.RESOLVED),
    DisputeState.WITH_AGENCY: (DisputeState.ANSWERED, DisputeState.RESOLVED),
    DisputeState.ANSWERED: (DisputeState.RESOLVED, DisputeState.OPEN),
    DisputeState.RESOLVED: (DisputeState.CLOSED, DisputeState.OPEN),
    DisputeState.CLOSED: (),
}
STILL_OPEN = (DisputeState.OPEN, DisputeState.WITH_AGENCY, DisputeState.ANSWERED)


def send_to_agency(session: Session, staff: User, reference: str, note: str = "") -> Dispute:
    """Finance hands the dispute to the agency's clerks, with what it wants them to look at."""
    dispute = _locked(session, staff, reference)
    if dispute.state is DisputeState.WITH_AGENCY:
        return dispute  # sent twice: once
    _move(session, dispute, DisputeState.WITH_AGENCY, staff, _optional(note))
    return dispute


def answer(session: Session, clerk: User, reference: str, text: str) -> Dispute:
    """The agency's answer: what its records show and what it did."""
    dispute = _locked(session, clerk, reference)
    if dispute.state is DisputeState.ANSWERED and dispute.agency_answer == text.strip():
        return dispute  # the same answer sent twice: once
    dispute.agency_answer = checked_text(text, (2, NOTE_LIMIT), "text")
    dispute.answered_at = utcnow()
    _move(session, dispute, DisputeState.ANSWERED, clerk, dispute.agency_answer)
    return dispute


def resolve(
    session: Session,
    wallet,
    staff: User,
    reference: str,
    outcome: DisputeOutcome,
    reason: str,
    refund_fen: int | None = None,
) -> Dispute:
    """Decide the dispute. A refund goes through the payments' refund service under a key of this
    dispute and round, so a resend refunds once; a rejection must say why."""
    dispute = _locked(session, staff, reference)
    why = reason.strip()
    if dispute.state is DisputeState.RESOLVED and (dispute.outcome, dispute.outcome_reason) == (
        outcome,
        why or None,
    ):
        return dispute  # the same decision sent twice: made once (another decision finds it moved on)
    if outcome is DisputeOutcome.REJECTED and not why:
        raise ValidationFailed(_("Say why the dispute is rejected."), field="reason")
    if why:
        checked_text(why, (1, NOTE_LIMIT), "reason")
    if outcome is DisputeOutcome.REFUNDED:
        if dispute.payment_item_id is None:
            raise ValidationFailed(
                _("Nothing was paid through the portal for this bill: resolve it as corrected or rejected."),
                field="outcome",
            )
        if not refund_fen:
            raise ValidationFailed(_("Enter the amount to refund."), field="amount")
        payment = session.get(Payment, dispute.payment_id)
        refund = refunds.refund_item(
            session,
            wallet,
            staff,
            payment.reference,
            dispute.payment_item_id,
            refund_fen,
            why or _("Dispute %(reference)s", reference=dispute.reference),
            f"dispute:{dispute.id}:{dispute.reopened}",
        )
        dispute.refund_id = refund.id
    dispute.outcome, dispute.outcome_reason = outcome, why or None
    dispute.resolved_at = utcnow()
    _move(session, dispute, DisputeState.RESOLVED, staff, why or None, outcome=outcome.value)
    return dispute


def reopen(session: Session, user: User, reference: str, why: str) -> Dispute:
    """The resident does not accept the answer: back to open, within REOPEN_DAYS of it."""
    dispute = _locked(session, user, reference)
    if dispute.state is DisputeState.OPEN:
        return dispute
    if dispute.state not in (DisputeState.ANSWERED, DisputeState.RESOLVED) or not can_reopen(dispute):
        raise ValidationFailed(_("This dispute can no longer be reopened. Open a new one if you need to."))
    note = checked_text(why, DESCRIPTION_LIMITS, "why")
    _move(session, dispute, DisputeState.OPEN, user, note)
    dispute.reopened += 1
    dispute.outcome = dispute.outcome_reason = None
    dispute.answered_at = dispute.resolved_at = None  # a new round: its answer and window start afresh
    return dispute


def close(session: Session, user: User, reference: str) -> Dispute:
    """The resident accepts the resolution."""
    dispute = _locked(session, user, reference)
    if dispute.state is not DisputeState.CLOSED:
        _move(session, dispute, DisputeState.CLOSED, user, None)
    return dispute


def close_expired(database: Database, now: datetime) -> int:
    """The worker closes resolved disputes whose reopen window has passed; returns how many."""
    closed = 0
    with database.write_transaction() as session:
        rows = session.scalars(
            select(Dispute).where(Dispute.state == DisputeState.RESOLVED).with_for_update(skip_locked=True)
        ).all()
        for dispute in rows:
            if not can_reopen(dispute, now):
                _move(session, dispute, DisputeState.CLOSED, None, None)
                closed += 1
    return closed


def can_reopen(dispute: Dispute, now: datetime | None = None) -> bool:
    answered = dispute.resolved_at or dispute.answered_at
    if dispute.state not in (DisputeState.ANSWERED, DisputeState.RESOLVED) or answered is None:
        return False
    return (now or utcnow()) < aware(answered) + timedelta(days=REOPEN_DAYS)


def due_day(dispute: Dispute) -> date | None:
    """The Beijing working day by whose end the current step is due (due_at is that day's end)."""
    return business_day(aware(dispute.due_at) - timedelta(microseconds=1)) if dispute.due_at else None


def overdue(dispute: Dispute, now: datetime | None = None) -> bool:
    return dispute.due_at is not None and aware(dispute.due_at) < (now or utcnow())


@dataclass(frozen=True)
class DisputedBill:
    """The bill a dispute is about, whether it was paid here or not."""

    agency: Agency
    bill_id: str
    account_reference: str
    amount_fen: int
    payment: Payment | None  # None: a bill of a saved account, not paid through the portal
    refundable_fen: int  # what is left of the bill's money to refund (0 when nothing was paid here)


def disputed_bill(session: Session, dispute: Dispute) -> DisputedBill:
    if dispute.payment_item_id is None:
        return DisputedBill(
            session.get(Agency, dispute.agency_id),
            dispute.bill_id,
            dispute.account_reference,
            dispute.bill_amount_fen,
            None,
            0,
        )
    item = session.get(PaymentItem, dispute.payment_item_id)
    left = item.amount_fen - item.refunded_fen
    return DisputedBill(
        item.agency, item.bill_id, item.account_reference, item.amount_fen, item.payment, left
    )


def dispute_for_resident(session: Session, user: User, reference: str) -> Dispute:
    dispute = session.scalar(select(Dispute).where(Dispute.reference == reference))
    if dispute is None or dispute.user_id != user.id:
        raise NotFound(_("That dispute does not exist."))
    return dispute


def dispute_for_staff(session: Session, staff: User, reference: str) -> Dispute:
    """Finance and admins see every dispute, a clerk their agency's; anyone else none (NotFound)."""
    dispute = session.scalar(select(Dispute).where(Dispute.reference == reference))
    if dispute is None or not _may_see(staff, dispute):
        raise NotFound(_("That dispute does not exist."))
    return dispute


def disputes_of(session: Session, user: User) -> Sequence[Dispute]:
    return session.scalars(
        select(Dispute).where(Dispute.user_id == user.id).order_by(Dispute.id.desc())
    ).all()


def queue_for(
    session: Session, staff: User, states: Sequence[DisputeState] = STILL_OPEN
) -> Sequence[Dispute]:
    """The staff member's queue, the nearest deadline first."""
    query = select(Dispute).where(Dispute.state.in_(states)).order_by(Dispute.due_at, Dispute.id)
    if staff.role is Role.CLERK:
        query = query.where(Dispute.agency_id == staff.agency_id)
    return session.scalars(query).all()


def actions_for(user: User, dispute: Dispute) -> set[str]:
    """What this user may do with the dispute now: the pages offer exactly these."""
    state, role = dispute.state, user.role
    allowed: set[str] = set()
    if role is Role.RESIDENT and dispute.user_id == user.id:
        if state in (DisputeState.ANSWERED, DisputeState.RESOLVED) and can_reopen(dispute):
            allowed.add("reopen")
        if state is DisputeState.RESOLVED:
            allowed.add("close")
    if role in (Role.FINANCE, Role.ADMIN):
        if state is DisputeState.OPEN:
            allowed.add("send")
        if state in STILL_OPEN:
            allowed.add("resolve")
    if (
        role is Role.CLERK
        and dispute.agency_id == user.agency_id
        and state
        in (
            DisputeState.OPEN,
            DisputeState.WITH_AGENCY,
        )
    ):
        allowed.add("answer")
    return allowed


ACTION_OF_STATE = {
    DisputeState.WITH_AGENCY: "send",
    DisputeState.ANSWERED: "answer",
    DisputeState.RESOLVED: "resolve",
    DisputeState.CLOSED: "close",
    DisputeState.OPEN: "reopen",
}


def _locked(session: Session, user: User, reference: str) -> Dispute:
    found = (
        dispute_for_resident(session, user, reference)
        if user.role is Role.RESIDENT
        else dispute_for_staff(session, user, reference)
    )
    return session.scalars(
        select(Dispute)
        .where(Dispute.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the row as of the lock
    ).one()


def _move(
    session: Session, dispute: Dispute, state: DisputeState, user: User | None, note: str | None, **details
):
    if state not in MOVES[dispute.state] or (
        user is not None and ACTION_OF_STATE[state] not in actions_for(user, dispute)
    ):
        raise ValidationFailed(_("This dispute has moved on since you opened it. Look at it again."))
    now = utcnow()
    dispute.state, dispute.state_since = state, now
    days = DEADLINE_WORKING_DAYS.get(state)
    dispute.due_at = deadline(session, now, days) if days else None
    if state is DisputeState.CLOSED:
        dispute.closed_at = now
    step(session, dispute, state, f"user:{user.id}" if user else "worker", note, **details)


def step(session: Session, dispute: Dispute, state: DisputeState, actor: str, note: str | None, **details):
    """One step on the timeline, its audit entry and the resident's notice of it."""
    entry = DisputeStep(dispute=dispute, state=state, actor=actor, note=note)
    session.add(entry)
    session.flush()  # the step's id keys the resident's notice of it
    record(session, actor, f"dispute.{state.value}", f"dispute:{dispute.reference}", **details)
    params = {"reference": dispute.reference, "state": state.value, "outcome": details.get("outcome")}
    queue(session, dispute.user_id, "dispute", f"dispute:{dispute.id}:{entry.id}", params)


def _may_see(staff: User, dispute: Dispute) -> bool:
    if staff.role in (Role.FINANCE, Role.ADMIN):
        return True
    return staff.role is Role.CLERK and staff.agency_id == dispute.agency_id


def checked_text(text: str, limits: tuple[int, int], field: str) -> str:
    value = (text or "").strip()
    shortest, longest = limits
    if len(value) < shortest:
        raise ValidationFailed(_("Write at least %(count)d characters.", count=shortest), field=field)
    if len(value) > longest:
        raise ValidationFailed(_("Write at most %(count)d characters.", count=longest), field=field)
    return value


def _optional(note: str) -> str | None:
    value = (note or "").strip()
    return checked_text(value, (1, NOTE_LIMIT), "note") if value else None
