"""What the audit log says of finance reports and settlements."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={"report.export": _l("Report exported"), "settlement.made": _l("Agency settlement made")},
    subjects={"settlement": _l("Settlement %(ref)s")},
    whole_subjects={"report:collections": _l("The collections report")},
)
