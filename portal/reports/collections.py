"""Collections: the bill lines paid in a range of Beijing days, netted of refunds, totalled by day and
by agency, and the rows every export writes. All of it is computed by the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, case, cast, func, select
from sqlalchemy.orm import Session

from portal.agencies.models import CATEGORY_LABELS, Agency
from portal.payments.labels import CHANNEL_LABELS, ITEM_STATE_LABELS, PAYMENT_STATE_LABELS
from portal.payments.models import Payment, PaymentItem
from portal.reports.filters import CollectionFilter
from portal.sql import shanghai_day, shanghai_time, spreadsheet_safe


@dataclass(frozen=True)
class Column:
    name: str
    label: object  # a lazy string: the header in the reader's language
    kind: str  # "text", "money" (fen in the query, yuan in files) or "date"


LINE_COLUMNS = (
    Column("business_day", _l("Business day"), "date"),
    Column("paid_at", _l("Paid at (Beijing time)"), "text"),
    Column("payment", _l("Payment reference"), "text"),
    Column("agency_code", _l("Agency code"), "text"),
    Column("agency", _l("Agency"), "text"),
    Column("category", _l("Category"), "text"),
    Column("bill", _l("Bill number"), "text"),
    Column("description", _l("Description"), "text"),
    Column("period", _l("Period"), "text"),
    Column("amount", _l("Amount (yuan)"), "money"),
    Column("refunded", _l("Refunded (yuan)"), "money"),
    Column("net", _l("Net (yuan)"), "money"),
    Column("payment_status", _l("Payment status"), "text"),
    Column("line_status", _l("Bill status"), "text"),
    Column("channel", _l("Channel"), "text"),
    Column("agency_reference", _l("Agency reference"), "text"),
    Column("transfer", _l("Ledger transfer"), "text"),
)


def _labelled(column, labels: dict):
    return case({key: str(label) for key, label in labels.items()}, value=column, else_=cast(column, String))


def narrowed(query: Select, report: CollectionFilter) -> Select:
    """Bill lines of payments made within the filter's days and matching its narrowing."""
    start, end = report.bounds()
    query = query.where(Payment.paid_at >= start, Payment.paid_at < end)
    if report.agency_code:
        query = query.where(Agency.code == report.agency_code)
    if report.category:
        query = query.where(Agency.category == report.category)
    if report.state:
        query = query.where(Payment.state == report.state)
    if report.channel:
        query = query.where(Payment.channel == report.channel)
    return query


def _joined(query: Select) -> Select:
    return (
        query.select_from(PaymentItem)
        .join(Payment, Payment.id == PaymentItem.payment_id)
        .join(Agency, Agency.id == PaymentItem.agency_id)
    )


def line_query(report: CollectionFilter, locale: str) -> Select:
    """One row per bill line in LINE_COLUMNS order: dates, texts made spreadsheet-safe, money in fen."""
    # Text that comes from agencies and administrators is made spreadsheet-safe; the portal's own
    # (times, references it generates, its labels) cannot start with a formula character.
    outside_text = {
        "agency_code": Agency.code,
        "agency": Agency.name_zh if locale.startswith("zh") else Agency.name_en,
        "bill": PaymentItem.bill_id,
        "description": PaymentItem.description,
        "period": PaymentItem.period,
        "agency_reference": PaymentItem.agency_reference,
    }
    own_values = {
        "business_day": shanghai_day(Payment.paid_at),
        "paid_at": shanghai_time(Payment.paid_at),
        "payment": Payment.reference,
        "category": _labelled(Agency.category, CATEGORY_LABELS),
        "amount": PaymentItem.amount_fen,
        "refunded": PaymentItem.refunded_fen,
        "net": PaymentItem.amount_fen - PaymentItem.refunded_fen,
        "payment_status": _labelled(Payment.state, PAYMENT_STATE_LABELS),
        "line_status": _labelled(PaymentItem.state, ITEM_STATE_LABELS),
        "channel": _labelled(Payment.channel, CHANNEL_LABELS),
        "transfer": Payment.transfer_reference,
    }
    expressions = {name: spreadsheet_safe(text) for name, text in outside_text.items()} | own_values
    columns = [expressions[column.name].label(column.name) for column in LINE_COLUMNS]
    return narrowed(_joined(select(*columns)), report).order_by(Payment.paid_at, PaymentItem.id)


def count_lines(session: Session, report: CollectionFilter) -> int:
    return session.scalar(narrowed(_joined(select(func.count())), report)) or 0


@dataclass
class Totals:
    lines: int = 0
    collected_fen: int = 0
    refunded_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.collected_fen - self.refunded_fen

    def add(self, other: Totals) -> None:
        self.lines += other.lines
        self.collected_fen += other.collected_fen
        self.refunded_fen += other.refunded_fen


@dataclass
class CollectionSummary:
    """Totals by (day, agency) and their sums by day, by agency and overall."""

    days: list[date]
    agencies: list[Agency]
    cells: dict[tuple[date, str], Totals] = field(default_factory=dict)
    by_day: dict[date, Totals] = field(default_factory=lambda: defaultdict(Totals))
    by_agency: dict[str, Totals] = field(default_factory=lambda: defaultdict(Totals))
    total: Totals = field(default_factory=Totals)

    def cell(self, day: date, agency_code: str) -> Totals:
        return self.cells.get((day, agency_code), Totals())


def summarise(session: Session, report: CollectionFilter) -> CollectionSummary:
    day = shanghai_day(Payment.paid_at)
    query = narrowed(
        _joined(
            select(
                day,
                Agency.code,
                func.count(),
                func.sum(PaymentItem.amount_fen),
                func.sum(PaymentItem.refunded_fen),
            )
        ),
        report,
    ).group_by(day, Agency.code)
    rows = session.execute(query).all()
    codes = {code for _day, code, *_ in rows}
    agencies = session.scalars(select(Agency).where(Agency.code.in_(codes)).order_by(Agency.code)).all()
    summary = CollectionSummary(days=_days(report.start, report.end), agencies=list(agencies))
    for day_value, code, lines, collected, refunded in rows:
        totals = Totals(lines, int(collected or 0), int(refunded or 0))
        summary.cells[(day_value, code)] = totals
        summary.by_day[day_value].add(totals)
        summary.by_agency[code].add(totals)
        summary.total.add(totals)
    return summary


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
