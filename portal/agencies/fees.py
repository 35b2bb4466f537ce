"""Late fees on traffic fines, as Chinese law sets them.

Administrative Penalty Law, art. 72: a fine not paid within 15 days of the decision accrues an extra 3%
of the fine for every further day, and the extra may never exceed the fine itself. Days are
Asia/Shanghai calendar days (see portal.clock.business_day); all arithmetic is in whole fen.
"""

from __future__ import annotations

from datetime import date

DAYS_TO_PAY = 15
PERCENT_PER_DAY = 3


def traffic_late_fee(fine_fen: int, decided_on: date, today: date) -> int:
    """The late fee in fen on ``today`` for a fine decided on ``decided_on`` (rounded down to the fen)."""
    days_late = (today - decided_on).days - DAYS_TO_PAY
    if days_late <= 0 or fine_fen <= 0:
        return 0
    return min(fine_fen, fine_fen * PERCENT_PER_DAY * days_late // 100)
