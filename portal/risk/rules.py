"""The risk rules. Each looks at one operation and the resident's recent history and returns the facts
it saw (a small dict of numbers, rendered as a sentence in the reader's language by portal/risk/findings.py),
or None. Which rules run, their thresholds and whether a hit flags (allow, queue for review) or blocks
(refuse) come from configuration (RISK_RULES)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal.screening import PAYMENT, TOP_UP, WITHDRAWAL

Facts = dict[str, int]  # what a rule saw beyond the operation's own amount: counts, windows, fen; no text


@dataclass(frozen=True)
class Move:
    kind: str  # top_up, payment, withdrawal (as the ledger names them)
    amount_fen: int
    at: datetime


@dataclass(frozen=True)
class Operation:
    """The operation being checked, with what the rules need to know around it."""

    kind: str
    amount_fen: int
    at: datetime
    history: list[Move]  # the resident's wallet moves of the last days, oldest first
    account_created_at: datetime
    per_payment_limit_fen: int
    payers: frozenset[str] = field(default_factory=frozenset)  # names on the bills being paid
    recent_payers: frozenset[str] = field(default_factory=frozenset)  # on bills paid in the window

    def since(self, delta: timedelta, kind: str | None = None) -> list[Move]:
        return [m for m in self.history if m.at >= self.at - delta and (kind is None or m.kind == kind)]


def single_amount(op: Operation, threshold_fen: int) -> Facts | None:
    if op.amount_fen >= threshold_fen:
        return {"threshold_fen": threshold_fen}
    return None


def velocity(op: Operation, minutes: int, count: int, total_fen: int) -> Facts | None:
    recent = op.since(timedelta(minutes=minutes))
    moves, total = len(recent) + 1, sum(m.amount_fen for m in recent) + op.amount_fen
    if moves >= count or total >= total_fen:
        return {"moves": moves, "total_fen": total, "minutes": minutes}
    return None


def near_limit(op: Operation, ratio: float, times: int, hours: int) -> Facts | None:
    floor = int(op.per_payment_limit_fen * ratio)
    if op.kind == TOP_UP or not floor <= op.amount_fen <= op.per_payment_limit_fen:
        return None
    close = [m for m in op.since(timedelta(hours=hours)) if m.kind != TOP_UP and m.amount_fen >= floor]
    if len(close) + 1 >= times:
        return {"count": len(close) + 1, "limit_fen": op.per_payment_limit_fen, "hours": hours}
    return None


def quick_withdrawal(op: Operation, minutes: int, ratio: float) -> Facts | None:
    """Money passing through: most of what was just topped up (ratio of it, or more) goes straight out."""
    if op.kind != WITHDRAWAL:
        return None
    top_ups = op.since(timedelta(minutes=minutes), TOP_UP)
    if top_ups and op.amount_fen >= sum(m.amount_fen for m in top_ups) * ratio:
        return {"minutes": minutes}
    return None


def many_payers(op: Operation, payers: int, days: int) -> Facts | None:
    if op.kind != PAYMENT:
        return None
    names = op.recent_payers | op.payers
    if len(names) >= payers:
        return {"payers": len(names), "days": days}
    return None


def new_account_top_up(op: Operation, days: int, threshold_fen: int) -> Facts | None:
    if op.kind != TOP_UP or op.at - op.account_created_at > timedelta(days=days):
        return None
    if op.amount_fen >= threshold_fen:
        return {"age_days": (op.at - op.account_created_at).days}
    return None


RULES: dict[str, Callable[..., Facts | None]] = {
    "single_amount": single_amount,
    "velocity": velocity,
    "near_limit": near_limit,
    "quick_withdrawal": quick_withdrawal,
    "many_payers": many_payers,
    "new_account_top_up": new_account_top_up,
}
HISTORY_DAYS = 7  # the longest window any default rule looks back
