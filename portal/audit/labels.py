"""The words an admin reads for audit entries, registered by each domain for its own events.

The stored entries keep their codes (the chain hashes those, filters and the CSV export use them); a
domain names its event codes, subject kinds and detail values in a ``Vocabulary`` (in its
``labels.py``), and ``portal.wiring`` registers them all at start-up. The words every domain shares
(amount, reason, before/after) are here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Vocabulary:
    """One domain's words: event code -> label, subject kind -> label with %(ref)s, and for a detail key
    the label of each of its coded values."""

    actions: Mapping[str, object] = field(default_factory=dict)
    subjects: Mapping[str, object] = field(default_factory=dict)
    whole_subjects: Mapping[str, object] = field(default_factory=dict)
    values: Mapping[str, Mapping[object, object]] = field(default_factory=dict)


ACTION_LABELS: dict[str, object] = {"audit.export": _l("Audit log exported")}
SUBJECT_KINDS: dict[str, object] = {}
WHOLE_SUBJECTS: dict[str, object] = {"audit": _l("The audit log")}
MACHINE_ACTORS = {
    "system": _l("The portal (risk rules)"),
    "worker": _l("The background worker"),
    "anonymous": _l("Someone not signed in"),
    "cli": _l("An operator at the command line"),
}
VALUE_LABELS: dict[str, dict[object, object]] = {"action": ACTION_LABELS, "actor": MACHINE_ACTORS}

DETAIL_LABELS = {
    "amount_fen": _l("Amount"),
    "total_fen": _l("Total"),
    "discount_fen": _l("Discount"),
    "budget_fen": _l("Budget"),
    "payout_fen": _l("Paid out"),
    "left_fen": _l("Left"),
    "reason": _l("Why"),
    "bill": _l("Bill number"),
    "rules": _l("Rules"),
    "rule": _l("Rule"),
    "operation": _l("Operation"),
    "before": _l("Before"),
    "after": _l("After"),
    "role": _l("Role"),
    "agency": _l("Agency"),
    "rows": _l("Rows"),
    "filename": _l("File name"),
    "channel": _l("Channel"),
    "freeze": _l("Wallet frozen"),
    "flag": _l("Risk flag"),
    "transfer": _l("Wallet transfer"),
    "day": _l("Day"),
    "filter": _l("Filter"),
    "request": _l("Unfreeze request"),
    "bills": _l("Bill numbers"),
    "campaign_fen": _l("Paid by the campaign"),
    "cap_fen": _l("Monthly cap"),
    "monthly_cap_fen": _l("Monthly cap"),
    "enabled": _l("Switched on"),
    "refund": _l("Refund"),
    "first_day": _l("First day"),
    "last_day": _l("Last day"),
    "locked": _l("Account locked"),
    "method": _l("Method"),
    "remaining": _l("Codes left"),
    "card": _l("Bank card"),
    "was_locked": _l("Was locked"),
    "cancelled": _l("Cancelled"),
    "kept": _l("Kept"),
    "changed": _l("Changed"),
    "new": _l("New"),
    "file": _l("File"),
    "format": _l("Format"),
    "hours": _l("Hours"),
    "sent_at": _l("Sent at"),
    "topic": _l("Message"),
    "channels": _l("Channels"),
    "actor": _l("Who"),
    "action": _l("What"),
    "subject": _l("Object"),
    "from": _l("First day"),
    "to": _l("Last day"),
    "state": _l("Status"),
    "category": _l("Category"),
    "expected_fen": _l("Cash expected"),
    "counted_fen": _l("Cash counted"),
    "difference_fen": _l("Difference"),
    "handover": _l("Hand-over transfer"),
    "hall": _l("Service hall"),
    "agencies": _l("Agencies"),
}


def register(*vocabularies: Vocabulary) -> None:
    """Add domains' words; registering the same vocabulary again (a second app) changes nothing."""
    for vocabulary in vocabularies:
        ACTION_LABELS.update(vocabulary.actions)
        SUBJECT_KINDS.update(vocabulary.subjects)
        WHOLE_SUBJECTS.update(vocabulary.whole_subjects)
        for key, labels in vocabulary.values.items():
            VALUE_LABELS.setdefault(key, {}).update(labels)


def action_label(action: str) -> str:
    """An event code nobody named yet still shows, as its code."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
