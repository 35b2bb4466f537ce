"""The officers' review queue: assign a flag, write notes, close it as cleared or escalated (escalation
may freeze the wallet), and unfreeze only when a second admin approves (maker-checker)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal import events
from portal.accounts.models import User
from portal.audit.services import record
from portal.clock import local_time
from portal.db import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.identity import mask_name, mask_phone
from portal.money import plain_yuan
from portal.risk.checks import history
from portal.risk.findings import findings
from portal.risk.labels import OPERATION_LABELS, STATUS_LABELS, label_of
from portal.risk.models import FlagStatus, RiskFlag, RiskNote, UnfreezeRequest
from portal.risk.rules import Move
from portal.sql import safe_text
from portal.wallet.models import AccountKind, LedgerAccount
from portal.wallet.owners import wallet_owner
from portal.wallet.resident import KIND_LABELS

OPEN_STATUSES = (FlagStatus.OPEN, FlagStatus.ASSIGNED)
CASE_WINDOW = timedelta(days=7)


def queue(session: Session, closed: bool = False, limit: int = 200) -> list[RiskFlag]:
    statuses = (FlagStatus.CLEARED, FlagStatus.ESCALATED) if closed else OPEN_STATUSES
    return list(
        session.scalars(
            select(RiskFlag)
            .where(RiskFlag.status.in_(statuses))
            .options(joinedload(RiskFlag.user))  # the queue names each flag's resident
            .order_by(RiskFlag.id.desc())
            .limit(limit)
        )
    )


def flag(session: Session, flag_id: int) -> RiskFlag:
    found = session.get(RiskFlag, flag_id)
    if found is None:
        raise NotFound(_("There is no such flag."))
    return found


def assign(session: Session, officer: User, flag_id: int) -> RiskFlag:
    found = _open_flag(session, flag_id)
    found.assigned_to, found.status = officer.id, FlagStatus.ASSIGNED
    record(session, f"user:{officer.id}", "risk.assigned", f"risk_flag:{found.id}")
    return found


def add_note(session: Session, officer: User, flag_id: int, text: str) -> RiskNote:
    found = flag(session, flag_id)
    note = RiskNote(flag=found, author_id=officer.id, text=text.strip())
    session.add(note)
    record(session, f"user:{officer.id}", "risk.note", f"risk_flag:{found.id}")
    return note


def close(session: Session, wallet, officer: User, flag_id: int, escalate: bool, freeze: bool) -> RiskFlag:
    """Cleared, or escalated; an escalation may freeze the resident's wallet at once."""
    if freeze and not escalate:
        raise ValidationFailed(
            _("Only an escalated flag can freeze the wallet: choose Escalated, or untick the freeze."),
            field="freeze",
        )
    found = _open_flag(session, flag_id)
    found.status = FlagStatus.ESCALATED if escalate else FlagStatus.CLEARED
    found.closed_at, found.closed_by = utcnow(), officer.id
    record(
        session, f"user:{officer.id}", f"risk.{found.status.value}", f"risk_flag:{found.id}", freeze=freeze
    )
    if escalate and freeze:
        wallet.set_frozen(wallet_owner(found.user), True)
        record(session, f"user:{officer.id}", "wallet.frozen", f"user:{found.user_id}", flag=found.id)
        events.publish(session, events.WalletFrozen(found.user_id, found.id))
    return found


def request_unfreeze(session: Session, admin: User, user_id: int, reason: str) -> UnfreezeRequest:
    frozen = session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.kind == AccountKind.RESIDENT_WALLET,
            LedgerAccount.owner_ref == f"user:{user_id}",
            LedgerAccount.is_frozen.is_(True),
        )
    )
    if frozen is None:
        raise NotFound(_("There is no frozen wallet of that resident."))
    pending = _pending_unfreeze(session, user_id)
    if pending is not None:
        return pending
    request = UnfreezeRequest(user_id=user_id, requested_by=admin.id, reason=reason.strip())
    session.add(request)
    record(session, f"user:{admin.id}", "wallet.unfreeze_requested", f"user:{user_id}", reason=request.reason)
    return request


def approve_unfreeze(session: Session, wallet, admin: User, request_id: int) -> UnfreezeRequest:
    """The second admin's approval; the admin who asked cannot approve their own request."""
    request = session.get(UnfreezeRequest, request_id)
    if request is None or request.approved_at is not None:
        raise NotFound(_("There is no such request waiting for approval."))
    if request.requested_by == admin.id:
        # kept: maker-checker refusals are what an auditor looks for
        record(
            session,
            f"user:{admin.id}",
            "wallet.unfreeze_refused",
            f"user:{request.user_id}",
            request=request.id,
        )
        raise ValidationFailed(_("A second admin must approve: you asked for this unfreeze yourself."))
    request.approved_by, request.approved_at = admin.id, utcnow()
    wallet.set_frozen(wallet_owner(request.user), False)
    record(session, f"user:{admin.id}", "wallet.unfrozen", f"user:{request.user_id}", request=request.id)
    events.publish(session, events.WalletUnfrozen(request.user_id, request.id))
    return request


def pending_unfreezes(session: Session) -> list[UnfreezeRequest]:
    return list(session.scalars(select(UnfreezeRequest).where(UnfreezeRequest.approved_at.is_(None))))


def case_moves(session: Session, found: RiskFlag) -> list[tuple[Move, bool]]:
    """The resident's wallet moves from a week before the flag until now, each with whether it came after
    the flagged operation. The flag is written just before its operation's move, in the same transaction,
    so the first move after the flag is that operation's, unless the rule blocked it (no move at all)."""
    moves = history(session, found.user, found.created_at - CASE_WINDOW)
    marked, own_move_seen = [], found.blocked
    for move in moves:
        later = move.at >= found.created_at and own_move_seen
        if move.at >= found.created_at:
            own_move_seen = True
        marked.append((move, later))
    return marked


def _open_flag(session: Session, flag_id: int) -> RiskFlag:
    found = flag(session, flag_id)
    if found.status not in OPEN_STATUSES:
        raise ValidationFailed(_("This flag is closed already."))
    return found


def _pending_unfreeze(session: Session, user_id: int) -> UnfreezeRequest | None:
    return session.scalar(
        select(UnfreezeRequest).where(
            UnfreezeRequest.user_id == user_id, UnfreezeRequest.approved_at.is_(None)
        )
    )


def frozen_wallets(session: Session) -> list[tuple[User, UnfreezeRequest | None]]:
    """Residents whose wallets are frozen, each with the unfreeze request waiting, if any."""
    owners = session.scalars(
        select(LedgerAccount.owner_ref).where(
            LedgerAccount.kind == AccountKind.RESIDENT_WALLET, LedgerAccount.is_frozen.is_(True)
        )
    ).all()
    ids = [int(owner.removeprefix("user:")) for owner in owners if owner.startswith("user:")]
    users = session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)).all()
    return [(user, _pending_unfreeze(session, user.id)) for user in users]


def suspicious_activity_report(session: Session, found: RiskFlag) -> list[list[str]]:
    """The case as CSV rows in the exporting officer's language (codes stay codes): the flag, every rule
    it tripped with what that rule saw, the officers' notes and the wallet's moves around it."""
    rows = [
        *_flag_rows(found),
        [],
        [_("Notes")],
        *[
            [_beijing(note.created_at), note.author.email or f"user:{note.author_id}", note.text]
            for note in found.notes
        ],
        [],
        [_("Wallet moves (Beijing time)"), _("Kind"), _("Amount (yuan)"), _("After the flag")],
        *[
            [
                _beijing(move.at),
                label_of(KIND_LABELS, move.kind),
                plain_yuan(move.amount_fen),
                _("yes") if later else _("no"),
            ]
            for move, later in case_moves(session, found)
        ],
    ]
    return [[safe_text(str(cell)) for cell in row] for row in rows]


def _flag_rows(found: RiskFlag) -> list[list[str]]:
    seen, user = findings(found), found.user
    rules, amount = _("; ").join(hit.label for hit in seen), plain_yuan(found.amount_fen)
    return [
        [_("Suspicious activity report"), _("Risk flag %(ref)s", ref=found.id)],
        [_("Resident"), account_number(user.id), mask_name(user.real_name), mask_phone(user.phone)],
        [
            _("Rule"),
            rules,
            _("Operation"),
            label_of(OPERATION_LABELS, found.operation),
            _("Amount (yuan)"),
            amount,
        ],
        [
            _("Blocked"),
            _("yes") if found.blocked else _("no"),
            _("Status"),
            label_of(STATUS_LABELS, found.status),
        ],
        [_("Raised (Beijing)"), _beijing(found.created_at)],
        *[
            [
                _("What the rule saw"),
                hit.label,
                _("the rule was set to block") if hit.blocks else _("the rule was set to flag for review"),
                hit.text,
            ]
            for hit in seen
        ],
    ]


def account_number(user_id: int) -> str:
    """How officers refer to a resident they see masked: the portal's account number, not a code."""
    return _("Account no. %(id)d", id=user_id)


def _beijing(moment) -> str:
    return local_time(moment).strftime("%Y-%m-%d %H:%M:%S")


def record_report(session: Session, officer: User, found: RiskFlag) -> None:
    record(session, f"user:{officer.id}", "risk.report_exported", f"risk_flag:{found.id}")
