"""Working days in Beijing: Monday to Friday, but for the days an admin lists (public holidays off,
make-up working days on weekends). Dispute deadlines are counted in them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.services import record
from portal.clock import business_day, day_bounds
from portal.disputes.models import CalendarDay

LOOKAHEAD_DAYS = 120  # far beyond any deadline: the longest national holiday is 8 days


class WorkingCalendar:
    """The weekday rule with its exceptions (day -> working?), read once for a span of days."""

    def __init__(self, exceptions: dict[date, bool]) -> None:
        self.exceptions = exceptions

    @classmethod
    def around(cls, session: Session, first: date, last: date) -> WorkingCalendar:
        rows = session.execute(
            select(CalendarDay.day, CalendarDay.working).where(CalendarDay.day.between(first, last))
        )
        return cls(dict(rows.all()))

    def is_working(self, day: date) -> bool:
        return self.exceptions.get(day, day.weekday() < 5)

    def add(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself does not count)."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            count -= self.is_working(day)
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``: 0 on the same day."""
        return sum(self.is_working(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))


def deadline(session: Session, moment: datetime, working_days: int) -> datetime:
    """The end (in UTC) of the Beijing working day ``working_days`` after the day of ``moment``."""
    today = business_day(moment)
    calendar = WorkingCalendar.around(session, today, today + timedelta(days=LOOKAHEAD_DAYS))
    return day_bounds(calendar.add(today, working_days))[1]


def working_days_taken(session: Session, start: datetime, end: datetime) -> int:
    first, last = business_day(start), business_day(end)
    return WorkingCalendar.around(session, first, last).between(first, last)


def calendar_days(session: Session, from_day: date) -> list[CalendarDay]:
    return list(
        session.scalars(select(CalendarDay).where(CalendarDay.day >= from_day).order_by(CalendarDay.day))
    )


def set_day(session: Session, admin_id: int, day: date, working: bool, name: str) -> CalendarDay:
    """Add or change one exception to the weekday rule; audited. Deadlines already set keep their day."""
    row = session.get(CalendarDay, day) or CalendarDay(day=day)
    row.working, row.name, row.updated_at = working, name.strip()[:60], datetime.now(UTC)
    session.add(row)
    record(
        session, f"user:{admin_id}", "calendar.changed", f"calendar_day:{day.isoformat()}", working=working
    )
    return row


def remove_day(session: Session, admin_id: int, day: date) -> None:
    row = session.get(CalendarDay, day)
    if row is not None:
        session.delete(row)
        record(
            session, f"user:{admin_id}", "calendar.changed", f"calendar_day:{day.isoformat()}", removed=True
        )
