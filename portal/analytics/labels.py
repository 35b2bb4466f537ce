"""What the audit log says of the analytics pages: every view and export of them is recorded."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "analytics.viewed": _l("Analytics page viewed"),
        "analytics.exported": _l("Analytics table exported"),
    },
    subjects={"analytics": _l("Analytics: %(ref)s")},
)
