"""What the audit log says of payments by visitors not signed in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={"guest.ended": _l("Payment without signing in stopped after three wrong codes")},
    subjects={"guest": _l("Payment try %(ref)s")},
)
