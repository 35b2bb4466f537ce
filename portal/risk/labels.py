"""What officers read for the risk rules, operations and flag statuses (the stored values are codes)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary
from portal.risk.models import FlagStatus

RULE_LABELS = {
    "single_amount": _l("Single large amount"),
    "velocity": _l("Many operations in a short time"),
    "near_limit": _l("Amounts just under the limit, repeatedly"),
    "quick_withdrawal": _l("Withdrawal straight after a top-up"),
    "many_payers": _l("Bills of many different payers"),
    "new_account_top_up": _l("Large top-up by a new account"),
}
OPERATION_LABELS = {"top_up": _l("Top-up"), "payment": _l("Bill payment"), "withdrawal": _l("Withdrawal")}
STATUS_LABELS = {
    FlagStatus.OPEN: _l("Open"),
    FlagStatus.ASSIGNED: _l("Assigned"),
    FlagStatus.CLEARED: _l("Cleared"),
    FlagStatus.ESCALATED: _l("Escalated"),
}


def label_of(labels: dict, key) -> str:
    return str(labels.get(key, key))


AUDIT_VOCABULARY = Vocabulary(
    actions={
        "risk.assigned": _l("Risk flag assigned"),
        "risk.blocked": _l("Operation blocked by a risk rule"),
        "risk.cleared": _l("Risk flag cleared"),
        "risk.escalated": _l("Risk flag escalated"),
        "risk.flagged": _l("Operation flagged by a risk rule"),
        "risk.note": _l("Note added to a risk flag"),
        "risk.report_exported": _l("Suspicious-activity report exported"),
    },
    subjects={"risk_flag": _l("Risk flag %(ref)s")},
    values={"rule": RULE_LABELS, "rules": RULE_LABELS, "operation": OPERATION_LABELS},
)
