"""What one flag found: every rule its operation tripped, whether that rule blocks, and the facts it saw.
They are stored as JSON in ``RiskFlag.detail`` (codes and numbers, no language) and become sentences
only when shown, in the reader's language. Flags written before (an English sentence) show their text."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.money import format_fen
from portal.risk.labels import RULE_LABELS, label_of
from portal.risk.rules import Facts

VERSION = 1
DETAIL_MAX = 300  # the width of risk_flags.detail


@dataclass(frozen=True)
class Hit:
    """One rule tripped by the operation, as stored."""

    rule: str
    blocks: bool
    facts: Facts


@dataclass(frozen=True)
class Finding:
    """One rule tripped by the operation, as an officer reads it."""

    rule: str
    label: str
    text: str
    blocks: bool


def encode(hits: Sequence[Hit]) -> str:
    """The stored detail; the facts are dropped (the labels stay) in the unlikely case they do not fit."""
    text = _dump(hits, with_facts=True)
    return text if len(text) <= DETAIL_MAX else _dump(hits, with_facts=False)


def _dump(hits: Sequence[Hit], with_facts: bool) -> str:
    rows = [[hit.rule, "block" if hit.blocks else "flag", hit.facts if with_facts else {}] for hit in hits]
    return json.dumps({"v": VERSION, "hits": rows}, separators=(",", ":"))


def decode(detail: str) -> list[Hit] | None:
    """The stored hits, or None when the detail is a plain sentence from before."""
    try:
        data = json.loads(detail)
        if not (isinstance(data, dict) and data.get("v") == VERSION):
            return None
        return [
            Hit(str(rule), action == "block", facts if isinstance(facts, dict) else {})
            for rule, action, facts in data["hits"]
        ]
    except (ValueError, TypeError, KeyError):
        return None


def findings(flag) -> list[Finding]:
    """The flag's rules with what each saw, in the reader's language (the stored text for old flags)."""
    hits = decode(flag.detail)
    if hits is None:
        return [Finding(flag.rule, label_of(RULE_LABELS, flag.rule), flag.detail, flag.blocked)]
    return [
        Finding(hit.rule, label_of(RULE_LABELS, hit.rule), sentence(hit, flag.amount_fen), hit.blocks)
        for hit in hits
    ]


def sentence(hit: Hit, amount_fen: int) -> str:
    """What the rule saw; just the rule's name when its facts are missing or of an unknown rule."""
    try:
        return SENTENCES[hit.rule](hit.facts, amount_fen)
    except (KeyError, TypeError, ValueError):
        return label_of(RULE_LABELS, hit.rule)


def _single_amount(facts: Facts, amount_fen: int) -> str:
    return _(
        "%(amount)s in one operation, at or over the threshold of %(threshold)s.",
        amount=format_fen(amount_fen),
        threshold=format_fen(int(facts["threshold_fen"])),
    )


def _velocity(facts: Facts, amount_fen: int) -> str:
    return ngettext(
        "%(num)d operation totalling %(total)s within %(minutes)d minutes.",
        "%(num)d operations totalling %(total)s within %(minutes)d minutes.",
        int(facts["moves"]),
        total=format_fen(int(facts["total_fen"])),
        minutes=int(facts["minutes"]),
    )


def _near_limit(facts: Facts, amount_fen: int) -> str:
    return ngettext(
        "%(num)d amount just under the %(limit)s limit per payment within %(hours)d hours.",
        "%(num)d amounts just under the %(limit)s limit per payment within %(hours)d hours.",
        int(facts["count"]),
        limit=format_fen(int(facts["limit_fen"])),
        hours=int(facts["hours"]),
    )


def _quick_withdrawal(facts: Facts, amount_fen: int) -> str:
    return _(
        "Withdrawal of %(amount)s within %(minutes)d minutes of a top-up.",
        amount=format_fen(amount_fen),
        minutes=int(facts["minutes"]),
    )


def _many_payers(facts: Facts, amount_fen: int) -> str:
    return _(
        "Bills of %(payers)d different payers within %(days)d days.",
        payers=int(facts["payers"]),
        days=int(facts["days"]),
    )


def _new_account_top_up(facts: Facts, amount_fen: int) -> str:
    if int(facts["age_days"]) == 0:
        return _("Top-up of %(amount)s by an account opened today.", amount=format_fen(amount_fen))
    return ngettext(
        "Top-up of %(amount)s by an account %(num)d day old.",
        "Top-up of %(amount)s by an account %(num)d days old.",
        int(facts["age_days"]),
        amount=format_fen(amount_fen),
    )


SENTENCES: dict[str, Callable[[Facts, int], str]] = {
    "single_amount": _single_amount,
    "velocity": _velocity,
    "near_limit": _near_limit,
    "quick_withdrawal": _quick_withdrawal,
    "many_payers": _many_payers,
    "new_account_top_up": _new_account_top_up,
}
