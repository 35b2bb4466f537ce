"""The daily roll-ups against a day whose every figure was computed by hand, the privacy threshold at 9,
10 and 11 residents, a re-run giving the same rows, and a refund after the roll-up correcting its day."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.agencies.models import AgencyCategory
from portal.analytics import figures, rollup
from portal.analytics.figures import Span
from portal.analytics.models import (
    AdoptionDay,
    AgencyDay,
    ChannelDay,
    DelayDay,
    HourDay,
    PeriodPayers,
    RolledDay,
)
from portal.audit.services import record
from portal.clock import business_day
from portal.db import utcnow
from portal.payments.models import PaymentChannel, PaymentState
from portal.wallet import ledger
from portal.wallet.models import AccountKind, TransferKind
from tests.analytics.conftest import beijing, days_before, pay
from tests.factories import AgencyFactory, UserFactory

WEB, AUTOPAY, COUNTER = PaymentChannel.WEB, PaymentChannel.AUTOPAY, PaymentChannel.COUNTER


def top_up(db, user, amount_fen: int, when) -> None:
    wallet = ledger.ensure_account(db, AccountKind.RESIDENT_WALLET, f"user:{user.id}")
    bank = ledger.ensure_account(db, AccountKind.FUNDING_CLEARING, "bank:sandbox")
    ledger.post(db, TransferKind.TOP_UP, [(bank, -amount_fen), (wallet, amount_fen)], actor="test", now=when)


@pytest.fixture
def day():
    return business_day(utcnow())


@pytest.fixture
def city(db, day):
    """Eleven residents registered today. Hand-computed figures of ``day`` are in the tests below."""
    water = AgencyFactory(code="an-water", category=AgencyCategory.WATER)
    traffic = AgencyFactory(code="an-traffic", category=AgencyCategory.TRAFFIC)
    people = [UserFactory() for _ in range(11)]
    u1, u2, u3, u4, u5 = people[:5]
    pay(db, u3, beijing(days_before(day, 1), 12), [(water, 1_000, 0, None)])  # u3 paid before today
    for index, person in enumerate(people):  # eleven web payments of a water bill the portal holds
        issued = days_before(day, 5 if index < 5 else 2)
        late = 200 if person is u1 else 0
        pay(
            db,
            person,
            beijing(day, 9, 30),
            [(water, 1_000 + late, late, issued)],
            refunded_fen=1_000 if person is u5 else 0,
        )
    pay(db, u1, beijing(day, 20, 15), [(water, 1_000, 0, None), (traffic, 3_000, 0, None)])  # two bills
    pay(db, u2, beijing(day, 3, 10), [(water, 1_000, 0, None)], channel=AUTOPAY)
    for _ in range(3):
        pay(db, None, beijing(day, 14), [(water, 500, 0, None)], channel=COUNTER)
    pay(db, u4, beijing(day, 11), [(water, 9_999, 0, None)], state=PaymentState.PENDING)  # never counted
    top_up(db, u1, 5_000, beijing(day, 8))  # u1's first top-up
    top_up(db, u2, 3_000, beijing(days_before(day, 3), 8))
    top_up(db, u2, 2_000, beijing(day, 8))  # not u2's first
    for person in (u1, u2):
        record(db, f"user:{person.id}", "identity.verified", f"user:{person.id}")
    return {"water": water, "traffic": traffic, "people": people}


def test_a_day_rolled_up_gives_the_figures_computed_by_hand(app, db, day, city):
    with app.app_context():
        rollup.roll_up_day(db, day)

    adoption = db.get(AdoptionDay, day)
    assert (adoption.registrations, adoption.verified) == (11, 2)
    assert (adoption.wallets_funded, adoption.top_ups, adoption.top_up_fen, adoption.top_up_residents) == (
        1,
        2,
        7_000,
        2,
    )
    # 11 + 1 web payments and 1 auto-pay: 10 x ¥10 + ¥12 + ¥40 + ¥10, less u5's ¥10 refund
    assert (adoption.payments, adoption.payment_fen, adoption.payers, adoption.first_payers) == (
        13,
        15_200,
        11,
        10,
    )

    channels = {row.channel: row for row in db.scalars(sa.select(ChannelDay).where(ChannelDay.day == day))}
    web = channels[WEB]
    assert (web.payments, web.lines, web.multi_bill, web.amount_fen, web.refunded_fen, web.residents) == (
        12,
        13,
        1,
        15_200,
        1_000,
        11,
    )
    assert (channels[AUTOPAY].payments, channels[AUTOPAY].residents) == (1, 1)
    assert (channels[COUNTER].payments, channels[COUNTER].amount_fen, channels[COUNTER].residents) == (
        3,
        1_500,
        3,
    )

    water = db.get(AgencyDay, (day, city["water"].id))
    # 11 + 1 + 1 + 3 water bills; u1's carried a late fee; 11 residents and 3 counter payers
    assert (water.lines, water.late_lines, water.amount_fen, water.residents, water.waited_residents) == (
        16,
        1,
        14_700,
        14,
        11,
    )
    delays = {row.delay_days: row.lines for row in db.scalars(sa.select(DelayDay).where(DelayDay.day == day))}
    assert delays == {5: 5, 2: 6}
    hours = {
        row.hour: (row.payments, row.residents)
        for row in db.scalars(sa.select(HourDay).where(HourDay.day == day))
    }
    assert hours == {3: (1, 1), 9: (11, 11), 14: (3, 3), 20: (1, 1)}
    month = db.get(PeriodPayers, ("month", day.replace(day=1)))
    assert month.payers == 11  # u3's payment of yesterday, in this month or not, is one of the eleven

    span = Span.of(day, day, "day")
    [channel_row] = [row for row in figures.channels(db, span) if row.channel is WEB]
    assert channel_row.payments.shown and channel_row.share_percent.value == 75  # 12 of 16 payments
    counter_row = next(row for row in figures.channels(db, span) if row.channel is COUNTER)
    assert not counter_row.payments.shown and counter_row.payments.cell() == "<10"
    with app.test_request_context():
        by_agency, by_category = figures.punctuality(db, span, "en")
    water_row = next(row for row in by_agency if row.label == city["water"].name_en)
    assert (water_row.lines.value, water_row.late_percent.value) == (16, 6)  # 1 of 16, rounded
    assert (water_row.median_days.value, water_row.p90_days.value) == (2, 5)  # of 2,2,2,2,2,2,5,5,5,5,5
    assert water_row.median_days.shown and not next(r for r in by_agency if r is not water_row).lines.shown
    assert (
        water_row.lines.shown and not water_row.late_percent.shown
    )  # one resident paid late: it gives them away
    assert [row.lines.value for row in by_category] == [16, 1]  # water, then traffic (the categories' order)


def test_a_rerun_gives_the_same_rows(app, db, day, city):
    def snapshot():
        tables = (AdoptionDay, ChannelDay, AgencyDay, DelayDay, HourDay)
        return {
            table.__tablename__: sorted(
                tuple(getattr(row, column.key) for column in table.__table__.columns)
                for row in db.scalars(sa.select(table).where(table.day == day))
            )
            for table in tables
        }

    with app.app_context():
        rollup.roll_up_day(db, day)
        first = snapshot()
        rollup.roll_up_day(db, day)
    db.expire_all()
    assert snapshot() == first and first["analytics_channel_daily"]
    assert db.get(RolledDay, day).stale is False


@pytest.mark.parametrize(("residents", "shown"), [(9, False), (10, True), (11, True)])
def test_a_figure_from_fewer_than_ten_residents_is_withheld(app, db, day, residents, shown):
    water = AgencyFactory(code="an-k", category=AgencyCategory.WATER)
    for _ in range(residents):
        pay(db, UserFactory(), beijing(day, 10), [(water, 1_000, 0, None)])
    with app.app_context():
        rollup.roll_up_day(db, day)
    span = Span.of(day, day, "day")
    [web] = figures.channels(db, span)
    [adoption] = figures.adoption(db, span)
    assert (
        web.payments.shown is shown and adoption.payers.shown is shown and adoption.payment_fen.shown is shown
    )
    assert web.payments.cell() == (residents if shown else "<10")
    hour = next(row for row in figures.by_hour(db, span) if row.label == "10:00")
    assert hour.payments.shown is shown


def test_keep_up_rolls_today_and_catches_up_history_a_month_at_a_time(app, db, day):
    water = AgencyFactory(code="an-old", category=AgencyCategory.WATER)
    pay(db, UserFactory(), beijing(day - timedelta(days=40), 10), [(water, 1_000, 0, None)])
    database = app.extensions["portal.db"]
    with app.app_context():
        first = rollup.keep_up(database, utcnow())
        second = rollup.keep_up(database, utcnow())
        third = rollup.keep_up(database, utcnow())
    # The oldest 31 days, then the 8 left, beside today and yesterday each time; then only those two.
    assert (first, second, third) == (rollup.MAX_DAYS_PER_SCAN + 2, 8 + 2, 2)
    rolled = set(db.scalars(sa.select(RolledDay.day).where(RolledDay.rolled_at.is_not(None))))
    assert rolled == {day - timedelta(days=n) for n in range(41)}


def test_a_nought_from_no_one_is_shown_and_one_resident_is_not():
    from portal.analytics.privacy import Figure

    assert Figure(0, 0).cell() == 0 and Figure(0, 3).cell() == "<10" and Figure(5, 1).cell() == "<10"


def test_a_refund_during_the_roll_up_leaves_the_day_stale(app, db, day, monkeypatch):
    """The roll-up read the day before the refund's mark: the next scan must roll it up again."""
    water = AgencyFactory(code="an-stale", category=AgencyCategory.WATER)
    pay(db, UserFactory(), beijing(day, 10), [(water, 1_000, 0, None)])
    write_hours = rollup._write_hours

    def marked_meanwhile(session, *args):
        write_hours(session, *args)
        rollup.mark_stale(session, [day])  # as a refund committing while the roll-up runs

    with app.app_context():
        rollup.roll_up_day(db, day)
        assert db.get(RolledDay, day).stale is False
        monkeypatch.setattr(rollup, "_write_hours", marked_meanwhile)
        rollup.roll_up_day(db, day)
        db.expire_all()
        assert db.get(RolledDay, day).stale is True
        monkeypatch.undo()
        rollup.roll_up_day(db, day)
    db.expire_all()
    assert db.get(RolledDay, day).stale is False
