"""Collections by Beijing business day: boundaries, sums, refunds netted, narrowing."""

from __future__ import annotations

from datetime import UTC, date, datetime

from portal.agencies.models import AgencyCategory
from portal.payments.models import PaymentChannel, PaymentState
from portal.reports.collections import count_lines, summarise
from portal.reports.filters import CollectionFilter
from tests.reports.conftest import local_agency

# 2026-03-09 23:59:59 and 2026-03-10 00:00:00 in Beijing.
LAST_SECOND = datetime(2026, 3, 9, 15, 59, 59, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 9, 16, 0, 0, tzinfo=UTC)


def test_a_payment_at_235959_and_one_at_000000_land_on_their_own_days(app, db, payments):
    water = local_agency(app, "water-r")
    payments.pay(water, 1_000, LAST_SECOND)
    payments.pay(water, 2_000, MIDNIGHT)

    summary = summarise(db, CollectionFilter(date(2026, 3, 9), date(2026, 3, 10)))

    assert summary.by_day[date(2026, 3, 9)].collected_fen == 1_000
    assert summary.by_day[date(2026, 3, 10)].collected_fen == 2_000
    only_ninth = summarise(db, CollectionFilter(date(2026, 3, 9), date(2026, 3, 9)))
    assert only_ninth.total.collected_fen == 1_000
    assert count_lines(db, CollectionFilter(date(2026, 3, 10), date(2026, 3, 10))) == 1


def test_days_add_up_to_the_month_and_agencies_to_the_total(app, db, payments):
    water = local_agency(app, "water-r")
    gas = local_agency(app, "gas-r", category=AgencyCategory.GAS)
    for day, amount in [(1, 1_100), (2, 2_200), (15, 3_300), (31, 4_400)]:
        payments.pay(water, amount, datetime(2026, 3, day, 4, tzinfo=UTC))
        payments.pay(gas, amount * 2, datetime(2026, 3, day, 5, tzinfo=UTC))
    payments.pay(water, 9_999, datetime(2026, 4, 1, 4, tzinfo=UTC))  # April: outside the month

    month = summarise(db, CollectionFilter(date(2026, 3, 1), date(2026, 3, 31)))

    assert month.total.collected_fen == 3 * (1_100 + 2_200 + 3_300 + 4_400)
    assert sum(t.collected_fen for t in month.by_day.values()) == month.total.collected_fen
    assert sum(t.lines for t in month.by_day.values()) == month.total.lines == 8
    assert (
        month.by_agency["water-r"].collected_fen + month.by_agency["gas-r"].collected_fen
        == month.total.collected_fen
    )
    day_by_day = [
        summarise(db, CollectionFilter(date(2026, 3, d), date(2026, 3, d))).total.net_fen
        for d in range(1, 32)
    ]
    assert sum(day_by_day) == month.total.net_fen


def test_refunds_are_netted_against_the_bills_they_return(app, db, payments, finance):
    water = local_agency(app, "water-r")
    payment = payments.pay(water, 5_000, datetime(2026, 3, 5, 2, tzinfo=UTC))
    payments.pay(water, 1_000, datetime(2026, 3, 5, 3, tzinfo=UTC))
    payments.refund(payment, 1_500, datetime(2026, 3, 6, 2, tzinfo=UTC), finance)

    summary = summarise(db, CollectionFilter(date(2026, 3, 5), date(2026, 3, 5)))

    totals = summary.by_day[date(2026, 3, 5)]
    assert (totals.collected_fen, totals.refunded_fen, totals.net_fen) == (6_000, 1_500, 4_500)
    assert summary.cell(date(2026, 3, 5), "water-r").net_fen == 4_500


def test_filters_narrow_by_agency_category_status_and_channel(app, db, payments, finance):
    water = local_agency(app, "water-r")
    gas = local_agency(app, "gas-r", category=AgencyCategory.GAS)
    moment = datetime(2026, 3, 5, 2, tzinfo=UTC)
    refunded = payments.pay(water, 1_000, moment)
    payments.pay(water, 2_000, moment)
    payments.pay(gas, 4_000, moment)
    payments.refund(refunded, 1_000, moment, finance)
    day = date(2026, 3, 5)

    def net(**narrowing) -> int:
        return summarise(db, CollectionFilter(day, day, **narrowing)).total.collected_fen

    assert net() == 7_000
    assert net(agency_code="gas-r") == 4_000
    assert net(category=AgencyCategory.WATER) == 3_000
    assert net(state=PaymentState.REFUNDED) == 1_000
    assert net(channel=PaymentChannel.WEB) == 7_000
    assert net(channel=PaymentChannel.AUTOPAY) == 0
