"""What residents and staff read for a dispute's kind, state and outcome, and the audit log's words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary
from portal.disputes.models import DisputeKind, DisputeOutcome, DisputeState

KIND_LABELS = {
    DisputeKind.STILL_UNPAID: _l("Paid, but the agency still shows the bill unpaid"),
    DisputeKind.CHARGED_TWICE: _l("Charged twice"),
    DisputeKind.WRONG_AMOUNT: _l("Wrong amount"),
    DisputeKind.REFUND_MISSING: _l("Refund not received"),
    DisputeKind.OTHER: _l("Something else"),
}
STATE_LABELS = {
    DisputeState.OPEN: _l("Open"),
    DisputeState.WITH_AGENCY: _l("With the agency"),
    DisputeState.ANSWERED: _l("Answered"),
    DisputeState.RESOLVED: _l("Resolved"),
    DisputeState.CLOSED: _l("Closed"),
}
STATE_HELP = {
    DisputeState.OPEN: _l("The portal's finance desk is looking at your dispute."),
    DisputeState.WITH_AGENCY: _l("The agency is checking its records."),
    DisputeState.ANSWERED: _l("The agency has answered; the finance desk will decide."),
    DisputeState.RESOLVED: _l("The dispute is resolved. If you do not agree, you may reopen it."),
    DisputeState.CLOSED: _l("The dispute is closed."),
}
OUTCOME_LABELS = {
    DisputeOutcome.REFUNDED: _l("Refunded"),
    DisputeOutcome.CORRECTED: _l("Corrected by the agency"),
    DisputeOutcome.REJECTED: _l("Rejected"),
}

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "dispute.open": _l("Dispute opened"),
        "dispute.with_agency": _l("Dispute sent to the agency"),
        "dispute.answered": _l("Dispute answered by the agency"),
        "dispute.resolved": _l("Dispute resolved"),
        "dispute.closed": _l("Dispute closed"),
        "calendar.changed": _l("Working calendar changed"),
        "export.disputes": _l("Disputes exported"),
    },
    subjects={"dispute": _l("Dispute %(ref)s"), "calendar_day": _l("Calendar day %(ref)s")},
    whole_subjects={"disputes": _l("The disputes report")},
    values={
        "kind": {kind.value: label for kind, label in KIND_LABELS.items()},
        "outcome": {outcome.value: label for outcome, label in OUTCOME_LABELS.items()},
    },
)
