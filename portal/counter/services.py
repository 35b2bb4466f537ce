"""A cashier's day at a service hall: open a shift, take bills in cash or by card, close with a cash-up.

Every payment goes through ``payments.pay_at_counter`` (the same claims on the bills, outbox, receipt
and audit as a wallet payment). The shift's row is locked before each payment and before the cash-up,
so a payment never lands in a till being closed, and a cash-up sent twice closes once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.audit.services import record
from portal.counter.models import CounterPayment, CounterShift, HallCashier, ServiceHall, ShiftState, Tender
from portal.db import utcnow
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.money import format_fen
from portal.numbering import random_code
from portal.payments import checkout
from portal.payments import services as payments
from portal.payments.models import Payment, PaymentChannel
from portal.wallet.counter import hall_bank_owner, till_owner
from portal.wallet.errors import WalletError


class NotThisHall(PortalError):
    """The bill's agency is not one the cashier's hall serves."""


class NoHall(PortalError):
    """A cashier no administrator has bound to a hall yet."""


def hall_of(session: Session, cashier: User) -> ServiceHall:
    binding = session.get(HallCashier, cashier.id)
    if binding is None:
        raise NoHall(_("You are not assigned to a service hall yet. Ask an administrator."))
    return binding.hall


def serves(hall: ServiceHall, agency_code: str) -> bool:
    return any(agency.code == agency_code for agency in hall.agencies)


def require_served(hall: ServiceHall, agency_code: str, locale: str) -> None:
    if not serves(hall, agency_code):
        raise NotThisHall(
            _(
                "%(hall)s does not take bills of this agency. Send the payer to a hall that does.",
                hall=hall.name_for(locale),
            )
        )


def current_shift(session: Session, cashier: User) -> CounterShift | None:
    return session.scalar(
        select(CounterShift).where(
            CounterShift.cashier_id == cashier.id, CounterShift.state == ShiftState.OPEN
        )
    )


def open_shift(session: Session, cashier: User) -> CounterShift:
    """The cashier's open shift, or a new one at their hall (sent twice: the same shift)."""
    hall = hall_of(session, cashier)
    existing = current_shift(session, cashier)
    if existing is not None:
        return existing
    shift = CounterShift(
        reference="S" + random_code(15), hall_id=hall.id, cashier_id=cashier.id, state=ShiftState.OPEN
    )
    try:
        with session.begin_nested():
            session.add(shift)
            session.flush()  # one open shift per cashier: a second click waits here for the first, then fails
    except IntegrityError:
        existing = current_shift(session, cashier)
        if existing is None:
            raise
        return existing
    record(session, f"user:{cashier.id}", "counter.shift_opened", f"shift:{shift.reference}", hall=hall.code)
    return shift


@dataclass(frozen=True)
class Takings:
    """What the payer hands over: cash (``tendered_fen``) or a bank card's number."""

    tender: Tender
    tendered_fen: int | None = None
    card_number: str = ""


def collect(
    session: Session,
    wallet,
    cashier: User,
    selection_token: str,
    amount_seen_fen: int,
    takings: Takings,
    form_key: str,
    locale: str,
) -> Payment:
    """Take one bill at the counter, in the cashier's open shift. The same form sent again returns the
    first payment. ValidationFailed (and nothing moves) when the bill changed since the cashier read
    its amount out, the cash handed over is short, or the card is refused."""
    shift = _locked_open_shift(session, cashier)
    selection = checkout.selection_from_token(selection_token)
    if selection is None:
        raise ValidationFailed(_("This bill can no longer be chosen. Look it up again."))
    require_served(shift.hall, selection.agency_code, locale)
    # The form's key as sent may be long; its digest keeps the payment's key within its 64 characters.
    key = f"counter:{shift.reference}:{hashlib.sha256(form_key.encode()).hexdigest()[:24]}"
    replayed = session.scalar(
        select(Payment).where(Payment.user_id.is_(None), Payment.idempotency_key == key)
    )
    if replayed is not None:
        return replayed  # sent twice: the bill is paid now, so it is not quoted again
    quote = checkout.quote(session, [selection], locale, key=key)
    amount = payments.chosen_amounts(quote, {})[0]  # the whole bill; ValidationFailed when not open
    if amount != amount_seen_fen:
        raise ValidationFailed(
            _(
                "The bill changed: it is now %(amount)s. Tell the payer and take it again.",
                amount=format_fen(amount),
            )
        )
    change = _change(takings, amount)
    take = _Taking(wallet, shift, takings, key)
    savepoint = session.begin_nested()  # a refused card leaves nothing of the payment behind
    try:
        payment = payments.pay_at_counter(session, cashier, quote, [amount], key=key, take=take)
    except WalletError as error:
        savepoint.rollback()
        if error.code == "card_declined":  # the wallet's words speak to a card's owner; here, to a cashier
            raise ValidationFailed(
                _("The bank declined this card. Ask the payer for another card, or take cash."),
                field="card_number",
            ) from error
        raise
    except PortalError:
        savepoint.rollback()
        raise
    savepoint.commit()
    session.add(
        CounterPayment(
            payment_id=payment.id,
            shift_id=shift.id,
            tender=takings.tender,
            tendered_fen=takings.tendered_fen if takings.tender is Tender.CASH else None,
            change_fen=change,
            card_masked=take.card.masked_number if take.card else "",
            card_bank=take.card.bank_name if take.card else "",
        )
    )
    return payment


LARGEST_NOTE_FEN = 10_000  # ¥100, the largest banknote: the change is always less than one


def _change(takings: Takings, amount: int) -> int:
    if takings.tender is Tender.CARD:
        return 0
    limit = current_app.config["COUNTER_CASH_LIMIT_FEN"]
    if amount > limit:
        raise ValidationFailed(
            _("Cash above %(limit)s is not taken at the counter: take a bank card.", limit=format_fen(limit)),
            field="tendered",
        )
    tendered = takings.tendered_fen or 0
    if tendered < amount:
        raise ValidationFailed(
            _(
                "The cash handed over (%(tendered)s) is less than the amount due (%(amount)s).",
                tendered=format_fen(tendered),
                amount=format_fen(amount),
            ),
            field="tendered",
        )
    if tendered - amount >= LARGEST_NOTE_FEN:  # a ¥100 note more than needed: a typing slip
        raise ValidationFailed(
            _(
                "The cash handed over (%(tendered)s) is more than the amount due (%(amount)s) and a "
                "¥100 note: check the figure typed.",
                tendered=format_fen(tendered),
                amount=format_fen(amount),
            ),
            field="tendered",
        )
    return tendered - amount


class _Taking:
    """Moves the payment's money once the bills are claimed; remembers the card it read."""

    def __init__(self, wallet, shift: CounterShift, takings: Takings, key: str) -> None:
        self.wallet, self.shift, self.takings, self.key = wallet, shift, takings, key
        self.card = None
        if takings.tender is Tender.CARD:  # read before anything is claimed: a bad number moves nothing
            self.card = wallet.read_card(takings.card_number)

    def __call__(self, legs, reference: str):
        for leg in legs:
            self.wallet.open_agency_account(leg.agency.removeprefix("agency:"))
        if self.card is not None:
            return self.wallet.take_card(
                self.card.token, legs, idempotency_key=self.key, description=reference
            )
        till = till_owner(self.shift.reference)
        return self.wallet.take_cash(till, legs, idempotency_key=self.key, description=reference)


def _locked_open_shift(session: Session, cashier: User) -> CounterShift:
    shift = session.scalar(
        select(CounterShift)
        .where(CounterShift.cashier_id == cashier.id, CounterShift.state == ShiftState.OPEN)
        .with_for_update()
        .execution_options(populate_existing=True)  # the row as of the lock: a cash-up may have closed it
    )
    if shift is None:
        raise ValidationFailed(_("Your shift is closed. Open a new shift to take payments."))
    return shift


def expected_cash(session: Session, shift: CounterShift) -> int:
    """The cash the shift's payments took: what the till should hold."""
    return int(  # PostgreSQL sums to a Decimal
        session.scalar(
            select(func.coalesce(func.sum(Payment.total_fen), 0))
            .join(CounterPayment, CounterPayment.payment_id == Payment.id)
            .where(CounterPayment.shift_id == shift.id, CounterPayment.tender == Tender.CASH)
        )
    )


def close_shift(
    session: Session, wallet, cashier: User, shift_reference: str, counted_fen: int
) -> CounterShift:
    """The cash-up: counted cash to the hall's bank account, any difference recorded, the shift closed.
    Sent twice, the second finds the shift closed and changes nothing."""
    shift = session.scalar(
        select(CounterShift)
        .where(CounterShift.reference == shift_reference, CounterShift.cashier_id == cashier.id)
        .with_for_update()
        .execution_options(
            populate_existing=True
        )  # the row as of the lock: a first cash-up may have closed it
    )
    if shift is None:
        raise NotFound(_("That shift does not exist."))
    if shift.state is ShiftState.CLOSED:
        return shift
    cash_up = wallet.cash_up(
        till_owner(shift.reference),
        hall_bank_owner(shift.hall.code),
        counted_fen,
        idempotency_key=f"cash-up:{shift.reference}",
        description=shift.reference,
    )
    shift.state, shift.closed_at = ShiftState.CLOSED, utcnow()
    shift.expected_cash_fen, shift.counted_cash_fen = cash_up.expected_fen, cash_up.counted_fen
    shift.handover_transfer, shift.difference_transfer = (
        cash_up.handover_reference,
        cash_up.difference_reference,
    )
    record(
        session,
        f"user:{cashier.id}",
        "counter.shift_closed",
        f"shift:{shift.reference}",
        expected_fen=cash_up.expected_fen,
        counted_fen=cash_up.counted_fen,
        difference_fen=cash_up.difference_fen,
        handover=cash_up.handover_reference,
    )
    return shift


@dataclass(frozen=True)
class ShiftSummary:
    shift: CounterShift
    payments: list[tuple[Payment, CounterPayment]]
    cash_fen: int
    card_fen: int


def summary(session: Session, shift: CounterShift) -> ShiftSummary:
    rows = session.execute(
        select(Payment, CounterPayment)
        .join(CounterPayment, CounterPayment.payment_id == Payment.id)
        .where(CounterPayment.shift_id == shift.id)
        .order_by(Payment.paid_at.desc(), Payment.id.desc())
    ).all()
    pairs = [(payment, taken) for payment, taken in rows]
    cash = sum(p.total_fen for p, taken in pairs if taken.tender is Tender.CASH)
    card = sum(p.total_fen for p, taken in pairs if taken.tender is Tender.CARD)
    return ShiftSummary(shift, pairs, cash, card)


def shift_of(session: Session, cashier: User, reference: str) -> CounterShift:
    """One of the cashier's own shifts; NotFound for anyone else's."""
    shift = session.scalar(select(CounterShift).where(CounterShift.reference == reference))
    if shift is None or shift.cashier_id != cashier.id:
        raise NotFound(_("That shift does not exist."))
    return shift


def recent_shifts(session: Session, cashier: User, limit: int = 10) -> list[CounterShift]:
    return list(
        session.scalars(
            select(CounterShift)
            .where(CounterShift.cashier_id == cashier.id)
            .order_by(CounterShift.opened_at.desc(), CounterShift.id.desc())
            .limit(limit)
        )
    )


def payment_at_hall(session: Session, cashier: User, reference: str) -> tuple[Payment, CounterPayment]:
    """A counter payment taken at the cashier's hall (a colleague may reprint it); NotFound otherwise."""
    hall = hall_of(session, cashier)
    row = session.execute(
        select(Payment, CounterPayment)
        .join(CounterPayment, CounterPayment.payment_id == Payment.id)
        .join(CounterShift, CounterShift.id == CounterPayment.shift_id)
        .where(Payment.reference == reference, Payment.channel == PaymentChannel.COUNTER)
        .where(CounterShift.hall_id == hall.id)
    ).first()
    if row is None:
        raise NotFound(_("That payment does not exist."))
    return row[0], row[1]
