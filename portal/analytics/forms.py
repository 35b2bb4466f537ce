"""The analytics pages' filter: a range of Beijing days and the period each row stands for."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.analytics.figures import MAX_PERIODS
from portal.analytics.rollup import week_start
from portal.reports.forms import DateRangeForm


class SpanForm(DateRangeForm):
    grain = SelectField(
        _l("Each row"),
        choices=[
            SelectChoice("day", _l("A day")),
            SelectChoice("week", _l("A week (Monday first)")),
            SelectChoice("month", _l("A month")),
        ],
        default="day",
    )

    def validate_grain(self, field) -> None:
        start, end = self.date_from.data, self.date_to.data
        if not (start and end) or end < start:
            return  # the dates' own messages say what is wrong
        periods = {
            "day": (end - start).days + 1,
            "week": (week_start(end) - week_start(start)).days // 7 + 1,
            "month": (end.year - start.year) * 12 + end.month - start.month + 1,
        }.get(field.data, 0)
        if periods > MAX_PERIODS:
            raise ValidationError(
                _l(
                    "A page holds at most %(rows)d rows: choose a shorter range or longer periods.",
                    rows=MAX_PERIODS,
                )
            )
