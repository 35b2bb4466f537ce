"""Working days in Beijing: weekends off, an admin's holidays off, make-up weekend days on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from portal.clock import day_bounds
from portal.disputes import calendar
from portal.disputes.calendar import WorkingCalendar
from portal.disputes.models import CalendarDay

FRIDAY = date(2027, 9, 24)
NATIONAL_DAY = {date(2027, 10, d): False for d in range(1, 8)} | {date(2027, 9, 26): True}  # Sunday on


def test_a_weekend_is_skipped():
    plain = WorkingCalendar({})
    assert plain.add(FRIDAY, 1) == date(2027, 9, 27)  # Monday
    assert plain.add(FRIDAY, 5) == date(2027, 10, 1)
    assert plain.between(FRIDAY, date(2027, 9, 27)) == 1


def test_a_holiday_is_skipped_and_a_make_up_sunday_counts():
    holidays = WorkingCalendar(NATIONAL_DAY)
    assert holidays.add(FRIDAY, 1) == date(2027, 9, 26)  # the make-up Sunday
    assert holidays.add(date(2027, 9, 30), 1) == date(2027, 10, 8)  # over the whole Golden Week
    assert holidays.add(FRIDAY, 5) == date(2027, 9, 30)  # Sunday, Monday to Thursday
    assert holidays.add(FRIDAY, 6) == date(2027, 10, 8)
    assert holidays.between(date(2027, 9, 30), date(2027, 10, 8)) == 1


def test_a_deadline_ends_at_beijing_midnight_and_reads_the_table(app, db):
    db.add_all([CalendarDay(day=day, working=on, name="国庆") for day, on in NATIONAL_DAY.items()])
    db.flush()  # the deadline reads the table through this session
    evening_in_beijing = datetime(2027, 9, 30, 14, 0, tzinfo=UTC)  # 22:00 Beijing, Thursday

    due = calendar.deadline(db, evening_in_beijing, 2)

    assert due == day_bounds(date(2027, 10, 11))[1]  # Fri 8th, then Monday 11th, at its end
    assert calendar.working_days_taken(db, evening_in_beijing, due - timedelta(seconds=1)) == 2
