"""Times are stored in UTC; business days are Asia/Shanghai days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def business_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of a UTC moment (23:59:59 and 00:00:00 fall on different days)."""
    return moment.astimezone(SHANGHAI).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Shanghai day, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def aware(moment: datetime) -> datetime:
    """A stored UTC time with its zone: SQLite hands back naive UTC times, PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)
