"""Shape of a batch upload: one file; what it holds is decided by its content, not its name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from portal.input_guard import PortalForm


class UploadForm(PortalForm):
    file = FileField(
        _l("Bill file (.csv or .xlsx)"),
        description=_l(
            "CSV in UTF-8 or GBK (as Excel saves it), or an Excel workbook; the first sheet is read."
        ),
        validators=[FileRequired(_l("Choose a file to upload."))],
    )
