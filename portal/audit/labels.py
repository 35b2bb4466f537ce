"""How audit entries read to an admin: events in words of the reader's language, actors by name (staff by
e-mail, residents masked), details with amounts in yuan. The stored entries keep their codes: the chain
hashes those, filters and the CSV export use them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.identity import mask_email, mask_phone
from portal.accounts.models import ROLE_LABELS, Role, User
from portal.agencies.models import CATEGORY_LABELS
from portal.agencies.registry import agency_cache
from portal.db import get_session
from portal.money import format_fen
from portal.payments.labels import PAYMENT_STATE_LABELS
from portal.promotions.forms import RULE_LABELS as CAMPAIGN_RULE_LABELS
from portal.reports.collections import CHANNEL_LABELS
from portal.risk.labels import OPERATION_LABELS, RULE_LABELS

ACTION_LABELS = {
    "account.unlocked": _l("Locked account unlocked"),
    "audit.export": _l("Audit log exported"),
    "autopay.changed": _l("Auto-pay changed"),
    "autopay.failed": _l("Auto-pay could not pay"),
    "batch.committed": _l("Bill batch committed"),
    "batch.uploaded": _l("Bill batch uploaded"),
    "batch.withdrawn": _l("Bill batch withdrawn"),
    "campaign.approved": _l("Campaign approved"),
    "campaign.ended": _l("Campaign ended early"),
    "campaign.budget_returned": _l("Campaign budget returned to the promotion fund"),
    "campaign.proposed": _l("Campaign proposed"),
    "campaign.rejected": _l("Campaign rejected"),
    "export.campaign": _l("Campaign report exported"),
    "login.failed": _l("Sign-in failed"),
    "outbox.resend": _l("Agency message sent again"),
    "password.changed": _l("Password changed"),
    "password.reset": _l("Password reset"),
    "password.reset_requested": _l("Password reset requested"),
    "payment.paid": _l("Bills paid"),
    "payment.confirmed": _l("Payment confirmed by the agency"),
    "payment.rejected": _l("Payment refused by the agency"),
    "payment.refunded": _l("Payment refunded"),
    "report.export": _l("Report exported"),
    "resident.registered": _l("Resident registered"),
    "risk.assigned": _l("Risk flag assigned"),
    "risk.blocked": _l("Operation blocked by a risk rule"),
    "risk.cleared": _l("Risk flag cleared"),
    "risk.escalated": _l("Risk flag escalated"),
    "risk.flagged": _l("Operation flagged by a risk rule"),
    "risk.note": _l("Note added to a risk flag"),
    "risk.report_exported": _l("Suspicious-activity report exported"),
    "session.started": _l("Signed in"),
    "settlement.made": _l("Agency settlement made"),
    "staff.created": _l("Staff account created"),
    "staff.disabled": _l("Staff account disabled"),
    "staff.enabled": _l("Staff account enabled"),
    "staff.role_changed": _l("Staff role or agency changed"),
    "two_factor.disabled": _l("Two-factor sign-in turned off"),
    "two_factor.enrolled": _l("Two-factor sign-in set up"),
    "two_factor.failed": _l("Two-factor code refused"),
    "two_factor.recovery_code_used": _l("Recovery code used"),
    "two_factor.recovery_codes_renewed": _l("Recovery codes renewed"),
    "two_factor.reset": _l("Two-factor sign-in reset"),
    "wallet.frozen": _l("Wallet frozen"),
    "wallet.top_up": _l("Wallet topped up"),
    "wallet.unfreeze_requested": _l("Wallet unfreeze requested"),
    "wallet.unfreeze_refused": _l("Own unfreeze request refused (a second admin must approve)"),
    "wallet.card_linked": _l("Bank card linked"),
    "identity.verified": _l("Identity verified"),
    "wallet.unfrozen": _l("Wallet unfrozen"),
    "wallet.withdrawal": _l("Withdrawal from the wallet"),
}

MACHINE_ACTORS = {
    "system": _l("The portal (risk rules)"),
    "worker": _l("The background worker"),
    "anonymous": _l("Someone not signed in"),
    "cli": _l("An operator at the command line"),
}


def action_label(action: str) -> str:
    """An event code nobody named yet still shows, as its code."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # empty for machine actors
    staff: bool = False


def actors_of(session: Session, codes: Iterable[str]) -> dict[str, Actor]:
    """One query for a page of entries: staff by e-mail (they act in their own name), residents masked."""
    codes = set(codes)
    ids = {int(code[5:]) for code in codes if code.startswith("user:") and code[5:].isdigit()}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    found: dict[str, Actor] = {}
    for code in codes:
        if code in MACHINE_ACTORS:
            found[code] = Actor(str(MACHINE_ACTORS[code]), "")
            continue
        user = users.get(int(code[5:])) if code.startswith("user:") and code[5:].isdigit() else None
        if user is None:
            found[code] = Actor(code, "")
        elif user.is_staff:
            found[code] = Actor(user.email or mask_phone(user.phone), str(ROLE_LABELS[user.role]), staff=True)
        else:
            found[code] = Actor(mask_phone(user.phone) or mask_email(user.email), str(ROLE_LABELS[user.role]))
    return found


SUBJECT_KINDS = {
    "payment": _l("Payment %(ref)s"),
    "transfer": _l("Wallet transfer %(ref)s"),
    "risk_flag": _l("Risk flag %(ref)s"),
    "batch": _l("Bill batch %(ref)s"),
    "campaign": _l("Campaign %(ref)s"),
    "settlement": _l("Settlement %(ref)s"),
    "saved_account": _l("Saved account %(ref)s"),
    "outbox": _l("Agency message %(ref)s"),
}
WHOLE_SUBJECTS = {
    "login": _l("The login page"),
    "audit": _l("The audit log"),
    "report:collections": _l("The collections report"),
}


def subject_label(code: str, actors: dict[str, Actor]) -> str:
    """What an entry is about, in words: a person by name, an agency by name, a payment by its reference."""
    if code in WHOLE_SUBJECTS:
        return str(WHOLE_SUBJECTS[code])
    if code in actors and actors[code].name != code:
        return actors[code].name
    kind, _colon, ref = code.partition(":")
    if kind == "agency":
        return _word("agency", ref)
    label = SUBJECT_KINDS.get(kind)
    return str(label) % {"ref": ref} if label is not None and ref else code


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
}

VALUE_LABELS = {
    "reason": {
        "unknown account": _l("unknown account"),
        "locked": _l("account locked"),
        "wrong password": _l("wrong password"),
        "disabled": _l("account disabled"),
        "cap": _l("over the monthly cap"),
        "risk": _l("stopped by a risk rule"),
        "balance": _l("balance too low"),
        "limit": _l("over a wallet limit"),
        "frozen": _l("wallet frozen"),
    },
    "channel": {"phone": _l("mobile number"), "email": _l("e-mail"), "sms": _l("SMS"), **CHANNEL_LABELS},
    "rule": {**RULE_LABELS, **CAMPAIGN_RULE_LABELS},
    "rules": RULE_LABELS,
    "operation": OPERATION_LABELS,
    "category": CATEGORY_LABELS,
    "state": PAYMENT_STATE_LABELS,
    "topic": {
        "agency.confirm": _l("payment confirmation to the agency"),
        "agency.refund": _l("refund notice to the agency"),
        "receipt.render": _l("receipt to render"),
        "notify.deliver": _l("notice to a resident"),
        "batch.check": _l("bill batch to check"),
        "batch.commit": _l("bill batch to load"),
    },
    "action": ACTION_LABELS,
    "actor": MACHINE_ACTORS,
    "method": {
        "code": _l("authenticator code"),
        "recovery_code": _l("recovery code"),
        "setup": _l("first code at set-up"),
    },
}


def detail_items(details_json: str) -> list[tuple[str, str]]:
    """(label, value) pairs; amounts (keys ending in _fen) in yuan, nested values flattened."""
    try:
        details = json.loads(details_json or "{}")
    except ValueError:
        return [("", details_json)]
    if not isinstance(details, dict):
        return [("", str(details))]
    ordered = sorted(details.items(), key=lambda item: _DETAIL_ORDER.get(item[0], len(_DETAIL_ORDER)))
    return [(_detail_label(key), _detail_value(key, value)) for key, value in ordered]


_DETAIL_ORDER = {key: position for position, key in enumerate(DETAIL_LABELS)}  # "before" ahead of "after"


def _detail_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key


def _detail_value(key: str, value: object) -> str:
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return format_fen(value)
    if isinstance(value, str):
        return _word(key, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return "-"
    if isinstance(value, list):
        return _(", ").join(_detail_value(key, item) for item in value) or "-"
    if isinstance(value, dict):
        if not value:
            return "-"
        return _("; ").join(f"{_detail_label(k)}{_(': ')}{_detail_value(k, v)}" for k, v in value.items())
    return str(value)


def _word(key: str, value: str) -> str:
    """Codes people would not read (a role, a rule, an agency, a reason) in the reader's words."""
    if key == "role" and value in set(Role):
        return str(ROLE_LABELS[Role(value)])
    if key == "actor" and value.startswith("user:"):
        return actors_of(get_session(), [value])[value].name
    if key == "agency":
        agency = agency_cache().get(get_session, value)
        return agency.name_for(str(get_locale())) if agency is not None else value
    label = VALUE_LABELS.get(key, {}).get(value)
    return str(label) if label is not None else value
