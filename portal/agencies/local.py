"""The `local` adapter: bills held in the portal's own database (loaded by clerk batches), looked up by
household account number (户号). Used by the demo water, electricity and gas companies."""

from __future__ import annotations

from sqlalchemy import select

from portal.agencies.base import (
    Ack,
    AgencyAdapter,
    AmountPolicy,
    AmountRule,
    BillQuery,
    BillStatus,
    BillView,
    PaymentConfirmation,
    QueryField,
)
from portal.agencies.models import Agency
from portal.bills.models import Bill, StoredBillStatus
from portal.clock import business_day
from portal.db import utcnow

ACCOUNT_FIELD = QueryField(
    name="account_reference",
    label_zh="户号",
    label_en="Household account number",
    pattern=r"[0-9A-Z]{6,20}",
    hint_zh="印在账单右上角，6 至 20 位数字或字母。",
    hint_en="Printed at the top right of your bill: 6 to 20 digits or letters.",
)


class LocalAdapter(AgencyAdapter):
    adapter_name = "local"
    in_process = True  # uses the request's database session: called on the request's own thread
    fields = (ACCOUNT_FIELD,)
    amount_policy = AmountPolicy(AmountRule.EXACT)

    def lookup(self, query: BillQuery) -> list[BillView]:
        reference = ACCOUNT_FIELD.normalise(query.get(ACCOUNT_FIELD.name))
        if reference is None or self.context.session is None:
            return []
        session = self.context.session()
        rows = session.scalars(
            select(Bill)
            .join(Agency, Bill.agency_id == Agency.id)
            .where(Agency.code == self.code, Bill.account_reference == reference)
            .order_by(Bill.due_date, Bill.bill_no)
        )
        today = business_day(utcnow())
        return [self._view(bill, today) for bill in rows]

    def confirm_payment(self, confirmation: PaymentConfirmation) -> Ack:
        # The portal marks its own bills paid in the payment's transaction; nothing more to tell.
        return Ack(
            payment_id=confirmation.payment_id,
            accepted=True,
            agency_reference=confirmation.bill_id,
            amount_fen=confirmation.amount_fen,
        )

    def _view(self, bill: Bill, today) -> BillView:
        status = BillStatus(bill.status.value)
        if status is BillStatus.UNPAID and bill.due_date is not None and bill.due_date < today:
            status = BillStatus.OVERDUE
        return BillView(
            agency_code=self.code,
            bill_id=bill.bill_no,
            account_reference=bill.account_reference,
            payer_name=bill.payer_name,
            description=bill.description,
            period=bill.period,
            amount_due_fen=bill.amount_fen,
            late_fee_fen=bill.late_fee_fen,
            due_date=bill.due_date,
            status=status,
        )


__all__ = ["LocalAdapter", "StoredBillStatus"]
