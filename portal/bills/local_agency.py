"""The `local` adapter: bills held in the portal's own database (loaded by clerk batches), looked up by
household account number (户号). Used by the demo water, electricity and gas companies."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

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
        rows = _read(self.context.session(), {"code": self.code, "reference": reference})
        today = business_day(utcnow())
        return [self._view(row, today) for row in rows]

    def confirm_payment(self, confirmation: PaymentConfirmation) -> Ack:
        # The portal marks its own bills paid in the payment's transaction; nothing more to tell.
        return Ack(
            payment_id=confirmation.payment_id,
            accepted=True,
            agency_reference=confirmation.bill_id,
            amount_fen=confirmation.amount_fen,
        )

    def _view(self, bill, today) -> BillView:
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


# One Core statement (plain rows, no ORM identity map): the columns a BillView needs.
_BILLS_TABLE, _AGENCIES = Bill.__table__, Agency.__table__
_BILLS = (
    select(
        *(
            _BILLS_TABLE.c[name]
            for name in (
                "bill_no",
                "account_reference",
                "payer_name",
                "description",
                "period",
                "amount_fen",
                "late_fee_fen",
                "due_date",
                "status",
            )
        )
    )
    .join(_AGENCIES, _BILLS_TABLE.c.agency_id == _AGENCIES.c.id)
    .where(
        _AGENCIES.c.code == bindparam("code"),
        _AGENCIES.c.is_enabled,  # a disabled agency's bills stop at once, whatever a page has cached
        _BILLS_TABLE.c.account_reference == bindparam("reference"),
    )
    .order_by(_BILLS_TABLE.c.due_date, _BILLS_TABLE.c.bill_no)
)


def _read(session: Session, parameters: dict[str, str]) -> list:
    """The rows, read in the session's transaction when it has one (a payment reads the bills it is
    paying in its own transaction) or pending changes. Otherwise, on PostgreSQL, the one statement runs
    alone in autocommit: the same committed rows, without the BEGIN and COMMIT round trips."""
    bind = session.get_bind()
    if (
        session.in_transaction()
        or not isinstance(bind, Engine)
        or bind.dialect.name != "postgresql"
        or session.new
        or session.dirty
        or session.deleted
    ):
        return session.execute(_BILLS, parameters).all()
    with bind.connect() as connection:
        return connection.execution_options(isolation_level="AUTOCOMMIT").execute(_BILLS, parameters).all()


__all__ = ["LocalAdapter", "StoredBillStatus"]
