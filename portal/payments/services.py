"""Paying a quote: ONE transaction moves the money, marks the bills, records the receipt, the outbox
messages to the agencies and the audit event. Nothing here commits; the request's commit point does."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import events, outbox, screening
from portal.accounts.models import User
from portal.agencies.base import AmountRule
from portal.audit.services import record
from portal.bills.models import Bill, StoredBillStatus
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.money import format_fen
from portal.numbering import payment_reference
from portal.payments.checkout import Quote, QuoteLine
from portal.payments.models import (
    CONFIRM_TOPIC,
    ItemState,
    Payment,
    PaymentChannel,
    PaymentItem,
    PaymentState,
    Refund,
)
from portal.payments.states import move_payment
from portal.promotions import discounts
from portal.promotions.models import Campaign
from portal.wallet.campaigns import budget_owner
from portal.wallet.owners import agency_owner, wallet_owner
from portal.wallet.types import PaymentLeg, TransferResult

# Called with the name of each step of pay(); empty in production. The crash-safety test kills the
# process at each step to prove that a payment is all or nothing.
step_hooks: list[Callable[[str], None]] = []


def _step(name: str) -> None:
    for hook in step_hooks:
        hook(name)


class BillAlreadyPaid(PortalError):
    def __init__(self, bill_id: str) -> None:
        super().__init__(
            _(
                "Bill %(bill)s has just been paid, in another payment. You were not charged for it.",
                bill=bill_id,
            )
        )


class BillBeingConfirmed(PortalError):
    def __init__(self, bill_id: str) -> None:
        super().__init__(
            _(
                "Another payment of bill %(bill)s is still being confirmed by the agency. Try again in a "
                "few minutes, when the agency reports what is left to pay.",
                bill=bill_id,
            )
        )


def chosen_amounts(quote: Quote, entered: dict[int, int | None]) -> list[int]:
    """What the resident pays for each payable line: the whole bill, or an entered amount where the
    agency allows part payments. ValidationFailed names the line that is wrong."""
    amounts = []
    for index, line in enumerate(quote.lines):
        if not line.payable:
            raise ValidationFailed(_("Bill %(bill)s cannot be paid: it is not open.", bill=line.bill.bill_id))
        amount = entered.get(index) if not line.fixed_amount else None
        amount = line.bill.total_fen if amount is None else amount
        if amount <= 0 or (line.rule is AmountRule.PARTIAL and amount > line.bill.total_fen):
            raise ValidationFailed(_("Enter an amount up to the amount due."), field=f"amount-{index}")
        if line.rule is AmountRule.PARTIAL and amount < min(line.minimum_fen, line.bill.total_fen):
            minimum = format_fen(line.minimum_fen)
            raise ValidationFailed(_("Pay at least %(minimum)s.", minimum=minimum), field=f"amount-{index}")
        amounts.append(amount)
    return amounts


def discount_offer(session: Session, user: User, quote: Quote) -> discounts.Offer | None:
    """What a running campaign would take off the payable bills at their full amounts (review page)."""
    payable = [(line.bill.agency_code, line.bill.total_fen) for line in quote.lines if line.payable]
    if not payable:
        return None
    lines = discounts.lines_for(session, payable)
    return discounts.best_offer(session, user.id, lines, first=first_payment(session, user.id))


def first_payment(session: Session, user_id: int, payment_id: int | None = None) -> bool:
    """No earlier payment of this resident (besides ``payment_id``, the one being written): the
    first-payment campaign rule asks."""
    earlier = select(func.count()).select_from(Payment).where(Payment.user_id == user_id)
    if payment_id is not None:
        earlier = earlier.where(Payment.id != payment_id)
    return not session.scalar(earlier)


def find_by_key(session: Session, user: User, key: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.user_id == user.id, Payment.idempotency_key == key))


def replay_differs(payment: Payment, entered: dict[int, int] | None) -> bool:
    """Whether a confirmation sent again asked for other amounts than the payment it already made
    (``entered``: amounts by line, as many lines as the payment has; None: amounts that could not be
    read). The payment stands; the sender must be told."""
    if entered is None:
        return True
    return any(payment.items[index].amount_fen != amount for index, amount in entered.items())


def pay(
    session: Session,
    wallet,
    user: User,
    quote: Quote,
    amounts: Sequence[int],
    *,
    channel: PaymentChannel = PaymentChannel.WEB,
    discount_seen_fen: int | None = None,
) -> Payment:
    """Pay the quoted bills once. The same key again returns the first payment and moves nothing.
    A running campaign pays its discount from its budget; ``discount_seen_fen`` is what the review
    page promised (DiscountChanged when the budget no longer allows it; None takes what is left)."""
    # Before anything is written: a blocking rule refuses here and leaves only its flag to commit.
    payers = [line.bill.payer_name for line in quote.lines]
    screening.screen(session, user, screening.PAYMENT, sum(amounts), payers=payers)
    payment = Payment(
        items=[],  # a new payment has no lines yet: no query to find that out
        reference=payment_reference(),
        user_id=user.id,
        idempotency_key=quote.key,
        state=PaymentState.PENDING,
        total_fen=sum(amounts),
        channel=channel,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()  # claims the key: a second submit of this form waits here, then fails
    except IntegrityError:
        existing = find_by_key(session, user, quote.key)
        if existing is None:
            raise
        return existing
    _step("payment_claimed")
    codes = {line.bill.agency_code: line.agency_id for line in quote.lines}
    _add_items(session, payment, quote.lines, amounts, codes)
    _step("bills_claimed")
    campaign = _take_discount(session, user, payment, codes, discount_seen_fen)
    _move_money(session, wallet, user, payment, codes, campaign)
    _step("money_moved")
    _after_payment(session, f"user:{user.id}", payment, codes)
    _step("receipt_and_outbox_written")
    return payment


# Moves a counter payment's money: given the legs to the agencies and the payment's reference, it
# returns the ledger's transfer (cash into a till, or a bank card through the POS).
CounterTaking = Callable[[list[PaymentLeg], str], TransferResult]


def pay_at_counter(
    session: Session, cashier: User, quote: Quote, amounts: Sequence[int], *, key: str, take: CounterTaking
) -> Payment:
    """Pay the quoted bills at a service hall's counter: the same claims on the bills, outbox messages,
    receipt and audit as a wallet payment, with the money moved by ``take``. No resident pays, so no
    wallet limit, campaign or risk screen applies. The same key again returns the first payment."""
    payment = Payment(
        items=[],  # a new payment has no lines yet: no query to find that out
        reference=payment_reference(),
        user_id=None,
        idempotency_key=key,
        state=PaymentState.PENDING,
        total_fen=sum(amounts),
        channel=PaymentChannel.COUNTER,
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()  # claims the key: the same form sent twice waits here, then fails
    except IntegrityError:
        existing = session.scalar(
            select(Payment).where(Payment.user_id.is_(None), Payment.idempotency_key == key)
        )
        if existing is None:
            raise
        return existing
    codes = {line.bill.agency_code: line.agency_id for line in quote.lines}
    _add_items(session, payment, quote.lines, amounts, codes)
    names = {agency_id: code for code, agency_id in codes.items()}
    owed: dict[str, int] = {}
    for item in payment.items:
        owed[names[item.agency_id]] = owed.get(names[item.agency_id], 0) + item.amount_fen
    legs = [PaymentLeg(agency_owner(code), amount) for code, amount in sorted(owed.items())]
    result = take(legs, payment.reference)
    payment.transfer_reference = result.reference
    payment.paid_at = result.created_at
    move_payment(payment, PaymentState.PAID)
    _after_payment(session, f"user:{cashier.id}", payment, codes)
    return payment


def _add_items(
    session: Session,
    payment: Payment,
    lines: Sequence[QuoteLine],
    amounts: Sequence[int],
    agencies: dict[str, int],
) -> None:
    pairs = sorted(
        zip(lines, amounts, strict=True), key=lambda pair: (pair[0].bill.agency_code, pair[0].bill.bill_id)
    )
    for line, amount in pairs:  # one order for every payment, so two payments never wait on each other
        bill = line.bill
        item = PaymentItem(
            agency_id=agencies[bill.agency_code],
            bill_id=bill.bill_id,
            account_reference=bill.account_reference,
            payer_name=bill.payer_name,
            description=bill.description,
            period=bill.period,
            amount_fen=amount,
            late_fee_fen=bill.late_fee_fen if amount >= bill.total_fen else 0,
            settles_bill=amount >= bill.total_fen,
            state=ItemState.AWAITING,
        )
        try:
            # Added inside the savepoint: begin_nested() flushes what is pending before it starts.
            with session.begin_nested():
                payment.items.append(item)
                session.flush()  # claims the bill: a racing payment of it waits here, then fails
        except IntegrityError as error:
            if not item.settles_bill:
                raise BillBeingConfirmed(bill.bill_id) from error
            raise BillAlreadyPaid(bill.bill_id) from error
        if item.settles_bill:
            _close_local_bill(session, item)


def _close_local_bill(session: Session, item: PaymentItem) -> None:
    """Bills the portal holds itself are marked paid in this transaction (no-op for remote agencies)."""
    result = session.execute(
        update(Bill)
        .where(Bill.agency_id == item.agency_id, Bill.bill_no == item.bill_id)
        .where(Bill.status == StoredBillStatus.UNPAID)
        .values(status=StoredBillStatus.PAID)
    )
    if result.rowcount == 0 and session.scalar(
        select(Bill.id).where(Bill.agency_id == item.agency_id, Bill.bill_no == item.bill_id)
    ):
        raise BillAlreadyPaid(item.bill_id)


def _take_discount(
    session: Session, user: User, payment: Payment, agencies: dict[str, int], seen_fen: int | None
) -> Campaign | None:
    """The campaign's share of each bill, written on the lines before any money moves."""
    if not discounts.any_running(session):  # the usual case: one query, not the three a grant asks
        if seen_fen:
            raise discounts.DiscountChanged(0)
        return None
    codes = {agency_id: code for code, agency_id in agencies.items()}
    lines = discounts.lines_for(session, [(codes[item.agency_id], item.amount_fen) for item in payment.items])

    def first() -> bool:
        return first_payment(session, user.id, payment.id)

    offer = discounts.grant(session, user.id, payment.id, lines, seen_fen, first=first)
    if offer is None:
        return None
    for item, share in zip(payment.items, offer.shares, strict=True):
        item.discount_fen = share
    payment.discount_fen = offer.discount_fen
    return offer.campaign


def _move_money(
    session: Session,
    wallet,
    user: User,
    payment: Payment,
    agencies: dict[str, int],
    campaign: Campaign | None,
) -> None:
    # The review page opened the wallet and brought its tier up to date: a tier only rises, so a check
    # made then is never more generous than the rules of now.
    codes = {agency_id: code for code, agency_id in agencies.items()}
    from_wallet: dict[str, int] = {}
    from_budget: dict[str, int] = {}
    for item in payment.items:
        code = codes[item.agency_id]
        from_wallet[code] = from_wallet.get(code, 0) + item.amount_fen - item.discount_fen
        from_budget[code] = from_budget.get(code, 0) + item.discount_fen
    for code in from_wallet:
        wallet.open_agency_account(code)
    legs = [PaymentLeg(agency_owner(code), amount) for code, amount in sorted(from_wallet.items()) if amount]
    result = wallet.pay(
        wallet_owner(user),
        legs,
        idempotency_key=f"payment:{payment.reference}",
        description=payment.reference,
    )
    for code, amount in sorted(from_budget.items()):
        if amount:  # the campaign pays its share to the same agency, in this transaction
            wallet.pay_discount(
                budget_owner(campaign.code),
                agency_owner(code),
                amount,
                idempotency_key=f"discount:{payment.reference}:{code}",
                description=payment.reference,
            )
    payment.transfer_reference = result.reference
    payment.paid_at = result.created_at
    move_payment(payment, PaymentState.PAID)


def _after_payment(session: Session, actor: str, payment: Payment, agencies: dict[str, int]) -> None:
    codes = {agency_id: code for code, agency_id in agencies.items()}
    for item in payment.items:
        code = codes[item.agency_id]
        outbox.enqueue(session, CONFIRM_TOPIC, f"confirm:{item.id}", {"item": item.id, "agency": code})
    record(
        session,
        actor,
        "payment.paid",
        f"payment:{payment.reference}",
        total_fen=payment.total_fen,
        discount_fen=payment.discount_fen,
        transfer=payment.transfer_reference,
        bills=[item.bill_id for item in payment.items],
    )
    events.publish(session, events.PaymentPaid(payment.id))  # the receipt and the resident's notice


def payment_of(session: Session, user: User, reference: str) -> Payment:
    """A payment of this resident; NotFound for anyone else's, as if it did not exist."""
    payment = session.scalar(select(Payment).where(Payment.reference == reference))
    if payment is None or payment.user_id != user.id:
        raise NotFound(_("That payment does not exist."))
    return payment


def refunds_of(session: Session, payment: Payment) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund)
            .join(PaymentItem, Refund.payment_item_id == PaymentItem.id)
            .where(PaymentItem.payment_id == payment.id)
            .order_by(Refund.id)
        )
    )


def history(session: Session, user: User, page: int, per_page: int = 20) -> tuple[list[Payment], int, int]:
    """One page of the resident's payments, newest first: (payments, page shown, pages)."""
    total = session.scalar(select(func.count()).select_from(Payment).where(Payment.user_id == user.id)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        select(Payment)
        .where(Payment.user_id == user.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), page, pages
