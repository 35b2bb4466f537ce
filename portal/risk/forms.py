"""Shapes of the officers' input on a risk flag and on unfreezing a wallet."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.input_guard import PortalForm


class NoteForm(PortalForm):
    text = TextAreaField(
        _l("Note"), validators=[DataRequired(_l("Write the note.")), Length(max=2000)], render_kw={"rows": 3}
    )


class CloseForm(PortalForm):
    outcome = RadioField(
        _l("Outcome"),
        choices=[
            SelectChoice("cleared", _l("Cleared: nothing suspicious")),
            SelectChoice("escalated", _l("Escalated: suspicious")),
        ],
        validators=[DataRequired(_l("Choose an outcome."))],
    )
    freeze = BooleanField(_l("Freeze the resident's wallet (escalations only)"))


class UnfreezeForm(PortalForm):
    user_id = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(
        _l("Why unfreeze"), validators=[DataRequired(_l("Say why.")), Length(max=300)], render_kw={"rows": 2}
    )
