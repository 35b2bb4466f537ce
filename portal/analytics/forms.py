"""The analytics pages' filter: a range of Beijing days and the period each row stands for."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.analytics.figures import MAX_PERIODS
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
        if field.data == "day" and start and end and (end - start).days >= MAX_PERIODS:
            raise ValidationError(
                _l(
                    "A page holds at most %(rows)d days: choose weeks or months for a longer range.",
                    rows=MAX_PERIODS,
                )
            )
