"""Selecting bills and quoting them: what the review page shows and the confirm form carries.

A selection names a bill the resident ticked (agency, the query that found it, its id). A quote is the
set of bills as the agencies reported them at review time, with the idempotency key minted for that
review; it travels signed in the confirm form, so the confirmation can tell whether anything changed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from portal.accounts.idcrypto import IdentityKeyMissing, Sealed, current_vault
from portal.agencies.base import AmountRule, BillQuery, BillStatus, BillView, call_adapter
from portal.bills.selection import SELECTION_PURPOSE, Selection
from portal.bills.services import find_agency
from portal.errors import PortalError, ValidationFailed

MAX_BILLS = 20
MAX_TOKEN_LENGTH = 1000  # a sealed selection is under 600 characters; anything longer is not one of ours
QUOTE_MAX_AGE_SECONDS = 1800
PAYABLE = (BillStatus.UNPAID, BillStatus.OVERDUE)


@dataclass(frozen=True)
class QuoteLine:
    selection: Selection
    agency_name: str
    bill: BillView
    rule: AmountRule
    minimum_fen: int
    agency_id: int  # the agency's row as found at quote time: paying names it without asking again

    @property
    def payable(self) -> bool:
        return self.bill.status in PAYABLE

    @property
    def fixed_amount(self) -> bool:
        return self.rule is AmountRule.EXACT


@dataclass(frozen=True)
class Quote:
    key: str  # the idempotency key of the confirmation this review leads to
    lines: tuple[QuoteLine, ...]

    @property
    def total_due_fen(self) -> int:
        return sum(line.bill.total_fen for line in self.lines if line.payable)


class QuoteChanged(PortalError):
    """A bill changed between review and confirmation; the fresh quote is shown for a new decision."""

    def __init__(self, quote: Quote) -> None:
        super().__init__(
            _("A bill changed since you reviewed it. Check the amounts below and confirm again.")
        )
        self.quote = quote


def selection_from_token(token: str) -> Selection | None:
    """A checkbox value back into a Selection; None for anything malformed, altered or not sealed by us."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    key_id, _dot, ciphertext = token.partition(".")
    try:
        data = json.loads(current_vault().open(Sealed(key_id, ciphertext), SELECTION_PURPOSE))
        query = data["q"]
        selection = Selection(
            str(data["a"]), tuple(sorted((str(k), str(v)) for k, v in query.items())), str(data["b"])
        )
    except (IdentityKeyMissing, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    sizes_ok = len(selection.agency_code) <= 32 and len(selection.bill_id) <= 40 and len(selection.query) <= 5
    return selection if sizes_ok and all(len(v) <= 64 for _k, v in selection.query) else None


def parse_selections(tokens: list[str]) -> list[Selection]:
    selections = list(dict.fromkeys(s for s in map(selection_from_token, tokens) if s is not None))
    if not selections:
        raise ValidationFailed(_("Choose at least one bill to pay."))
    if len(selections) > MAX_BILLS:
        raise ValidationFailed(_("You can pay at most %(count)d bills at once.", count=MAX_BILLS))
    return selections


def quote(session: Session, selections: list[Selection], locale: str, key: str | None = None) -> Quote:
    """Ask each agency for the selected bills now (once per agency and query); AgencyUnavailable when
    one does not answer, ValidationFailed when a bill is gone."""
    answers: dict[tuple[str, tuple], dict[str, BillView]] = {}
    lines = []
    for selection in selections:
        found = find_agency(session, selection.agency_code)
        if found is None:
            raise ValidationFailed(_("This agency cannot be paid online now."))
        agency, adapter = found
        asked = (selection.agency_code, selection.query)
        if asked not in answers:
            bills = call_adapter(adapter, "lookup", BillQuery(selection.agency_code, selection.query))
            answers[asked] = {bill.bill_id: bill for bill in bills}
        bill = answers[asked].get(selection.bill_id)
        if bill is None:
            raise ValidationFailed(_("Bill %(bill)s was not found any more.", bill=selection.bill_id))
        policy = adapter.amount_policy
        name = agency.name_for(locale)
        lines.append(QuoteLine(selection, name, bill, policy.rule, policy.minimum_fen, agency.id))
    return Quote(key or new_key(), tuple(lines))


def new_key() -> str:
    return secrets.token_urlsafe(24)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.checkout.quote")


def _fingerprint(line: QuoteLine) -> list:
    bill = line.bill
    return [line.selection.token(), bill.amount_due_fen, bill.late_fee_fen, bill.status.value]


def sign_quote(quote_: Quote, user_id: int, discount_fen: int = 0) -> str:
    """What the confirm form carries: the key, what each bill looked like at review and the campaign
    discount the page promised."""
    lines = [_fingerprint(x) for x in quote_.lines]
    return _serializer().dumps({"u": user_id, "k": quote_.key, "l": lines, "d": discount_fen})


def read_quote(token: str, user_id: int) -> tuple[str, list[Selection], list[list], int]:
    """The key, selections, fingerprints and promised discount of a signed quote of this user;
    ValidationFailed otherwise."""
    try:
        data = _serializer().loads(token, max_age=QUOTE_MAX_AGE_SECONDS)
    except BadSignature as error:
        raise ValidationFailed(_("This review has expired. Choose the bills again.")) from error
    if data.get("u") != user_id:
        raise ValidationFailed(_("This review has expired. Choose the bills again."))
    selections = [selection_from_token(item[0]) for item in data["l"]]
    if not selections or any(s is None for s in selections):
        raise ValidationFailed(_("This review has expired. Choose the bills again."))
    return data["k"], selections, data["l"], int(data.get("d") or 0)


def unchanged(fresh: Quote, fingerprints: list[list]) -> bool:
    return [_fingerprint(line) for line in fresh.lines] == fingerprints
