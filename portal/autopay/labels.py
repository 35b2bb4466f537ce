"""What the audit log says of auto-pay."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "autopay.changed": _l("Auto-pay changed"),
        "autopay.failed": _l("Auto-pay could not pay"),
    },
    subjects={"saved_account": _l("Saved account %(ref)s")},
    values={
        "reason": {
            "cap": _l("over the monthly cap"),
            "risk": _l("stopped by a risk rule"),
            "balance": _l("balance too low"),
            "limit": _l("over a wallet limit"),
            "frozen": _l("wallet frozen"),
        },
    },
)
