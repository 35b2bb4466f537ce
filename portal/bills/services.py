"""Bill lookup for residents, through whichever adapter serves each agency."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from flask import copy_current_request_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from portal.accounts.idcrypto import IdentityKeyMissing, Sealed, current_vault
from portal.accounts.models import User
from portal.agencies.base import (
    AdapterContext,
    AgencyAdapter,
    AgencyUnavailable,
    BillQuery,
    BillStatus,
    BillView,
    call_adapter,
)
from portal.agencies.cache import AgencySnapshot
from portal.agencies.models import Agency
from portal.agencies.registry import adapter_for, agency_cache
from portal.agencies.services import in_display_order
from portal.bills.models import SAVED_QUERY, SavedAccount
from portal.bills.selection import Selection
from portal.db import get_session
from portal.errors import NotFound, ValidationFailed

OUTSTANDING = (BillStatus.UNPAID, BillStatus.OVERDUE)
MAX_SAVED_ACCOUNTS = 20
FORM_VALUE = "bill_query_form"  # the purpose bound into sensitive values the save form carries


@dataclass(frozen=True)
class AccountBills:
    """One saved account on the dashboard: its outstanding bills, or why they could not be fetched."""

    account: SavedAccount
    bills: tuple[BillView, ...]
    problem: str | None = None


def lookup_agencies(session: Session) -> list[tuple[Agency, AgencyAdapter]]:
    """Enabled agencies that have an adapter, in the order residents know from their bills."""
    agencies = in_display_order(session.scalars(select(Agency).where(Agency.is_enabled)))
    pairs = [(agency, _adapter(agency)) for agency in agencies]
    return [(agency, adapter) for agency, adapter in pairs if adapter is not None]


def can_be_looked_up(agency: Agency) -> bool:
    """Whether an adapter serves the agency now (its lookup page exists)."""
    return _adapter(agency) is not None


def find_agency(session: Session, code: str) -> tuple[Agency, AgencyAdapter] | None:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    adapter = _adapter(agency) if agency is not None else None
    return (agency, adapter) if adapter is not None else None


def find_agency_to_show(code: str) -> tuple[AgencySnapshot, AgencyAdapter] | None:
    """As find_agency, from the process's copy of the agency rows (portal/agencies/cache.py): for the
    lookup page, which only shows bills. Paying and saving accounts use find_agency."""
    agency = agency_cache().get(get_session, code)
    adapter = _adapter(agency) if agency is not None else None
    return (agency, adapter) if adapter is not None else None


def _adapter(agency: Agency | AgencySnapshot) -> AgencyAdapter | None:
    # Adapters in this process read the portal's database through the request's session.
    return adapter_for(agency, AdapterContext(session=get_session))


def lookup(adapter: AgencyAdapter, values: dict[str, str]) -> list[BillView]:
    """The agency's bills for checked query values; AgencyUnavailable when it does not answer."""
    return call_adapter(adapter, "lookup", BillQuery(adapter.code, tuple(sorted(values.items()))))


def save_account(
    session: Session, user: User, agency: Agency, values: dict[str, str], nickname: str
) -> SavedAccount:
    """Remember checked query values under a nickname (once per agency and values). Values the agency's
    adapter declares sensitive are stored only encrypted; the blind index keeps one row per query."""
    vault = current_vault()
    existing = session.scalar(
        select(SavedAccount).where(
            SavedAccount.user_id == user.id,
            SavedAccount.agency_id == agency.id,
            SavedAccount.query_index.in_(vault.text_indexes(canonical_query(values))),
        )
    )
    if existing is not None:
        existing.nickname = nickname.strip()[:40] or existing.nickname
        return existing
    count = len(saved_accounts(session, user))
    if count >= MAX_SAVED_ACCOUNTS:
        raise ValidationFailed(_("You can save at most %(count)d accounts.", count=MAX_SAVED_ACCOUNTS))
    account = SavedAccount(user_id=user.id, agency=agency, nickname=nickname.strip()[:40] or agency.code)
    store_query(account, values, sensitive_fields(session, agency))
    session.add(account)
    return account


def selection_tokens(agency_code: str, values: dict[str, str], bills) -> dict[str, str]:
    """The sealed value of each bill's button or checkbox: what checkout needs to find it again."""
    query = tuple(sorted(values.items()))
    return {bill.bill_id: Selection(agency_code, query, bill.bill_id).token() for bill in bills}


def canonical_query(values: dict[str, str]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def sensitive_fields(session: Session, agency: Agency) -> frozenset[str]:
    """The query fields the agency's adapter declares sensitive; every one when no adapter serves it now
    (nothing is then known to be harmless)."""
    found = find_agency(session, agency.code)
    if found is None:
        return frozenset({"*"})
    return frozenset(field.name for field in found[1].fields if field.sensitive)


def store_query(account: SavedAccount, values: dict[str, str], sensitive: frozenset[str]) -> None:
    """Plain JSON of the harmless values, the sensitive ones sealed, and the index of all of them."""
    vault = current_vault()
    hidden = {k: v for k, v in values.items() if k in sensitive or "*" in sensitive}
    account.query_json = canonical_query({k: v for k, v in values.items() if k not in hidden})
    account.query_sealed_key = account.query_sealed = None
    if hidden:
        sealed = vault.seal(canonical_query(hidden), SAVED_QUERY)
        account.query_sealed_key, account.query_sealed = sealed.key_id, sealed.ciphertext
    account.query_index = vault.index_text(canonical_query(values))


def hidden_values(adapter: AgencyAdapter, values: dict[str, str]) -> dict[str, str]:
    """What the save form carries back: sensitive values sealed ('key_id.ciphertext'), others plain."""
    vault = current_vault()
    hidden = {}
    for field in adapter.fields:
        value = values.get(field.name, "")
        if field.sensitive and value:
            sealed = vault.seal(value, FORM_VALUE)
            value = f"{sealed.key_id}.{sealed.ciphertext}"
        hidden[field.name] = value
    return hidden


def unsealed_form(adapter: AgencyAdapter, form: MultiDict) -> MultiDict:
    """The posted save form with its sealed values opened; a value that does not open stays as typed
    (and then fails the field's pattern, as sealed text never matches one)."""
    vault = current_vault()
    opened = form.copy()
    for field in adapter.fields:
        key_id, dot, ciphertext = form.get(field.name, "").partition(".")
        if field.sensitive and dot:
            try:
                opened[field.name] = vault.open(Sealed(key_id, ciphertext), FORM_VALUE)
            except IdentityKeyMissing:
                continue
    return opened


def rotate_saved_queries(session: Session) -> int:
    """Re-encrypt sealed queries held under an older key (`flask users rotate-ids`)."""
    vault = current_vault()
    stale = select(SavedAccount).where(
        SavedAccount.query_sealed_key.is_not(None), SavedAccount.query_sealed_key != vault.current_key_id
    )
    count = 0
    for account in session.scalars(stale):
        sealed = Sealed(account.query_sealed_key, account.query_sealed)
        fresh = vault.seal(vault.open(sealed, SAVED_QUERY), SAVED_QUERY)
        account.query_sealed_key, account.query_sealed = fresh.key_id, fresh.ciphertext
        count += 1
    return count


def reindex_saved_accounts(session: Session) -> int:
    """Recompute every saved account's index under IDENTITY_INDEX_KEY (`flask users reindex`)."""
    vault = current_vault()
    count = 0
    for account in session.scalars(select(SavedAccount)):
        fresh = vault.index_text(canonical_query(account.query))
        if account.query_index != fresh:
            account.query_index = fresh
            count += 1
    return count


def saved_accounts(session: Session, user: User) -> list[SavedAccount]:
    return list(
        session.scalars(select(SavedAccount).where(SavedAccount.user_id == user.id).order_by(SavedAccount.id))
    )


def saved_account_of(session: Session, user: User, account_id: int) -> SavedAccount:
    """The user's own saved account; anyone else's is said not to exist."""
    account = session.get(SavedAccount, account_id)
    if account is None or account.user_id != user.id:
        raise NotFound(_("That saved account does not exist."))
    return account


def delete_account(session: Session, user: User, account_id: int) -> None:
    """Only the owner may delete (its auto-pay setting goes with it: ON DELETE CASCADE)."""
    session.delete(saved_account_of(session, user, account_id))


def dashboard(session: Session, user: User, timeout_seconds: float = 5.0) -> list[AccountBills]:
    """Outstanding bills of every saved account. Remote agencies are asked at the same time, each with a
    time limit; in-process ones (the portal's own bills) on this request's session."""
    accounts = saved_accounts(session, user)
    rows: dict[int, AccountBills] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        pending = []
        for account in accounts:
            found = find_agency(session, account.agency.code)
            if found is None:
                rows[account.id] = AccountBills(account, (), _("This agency cannot be looked up online now."))
                continue
            query = BillQuery(account.agency.code, tuple(sorted(account.query.items())))
            adapter = found[1]
            if getattr(adapter, "in_process", False):
                rows[account.id] = _fetch(account, lambda a=adapter, q=query: call_adapter(a, "lookup", q))
            else:
                ask = copy_current_request_context(lambda a=adapter, q=query: call_adapter(a, "lookup", q))
                pending.append((account, pool.submit(ask)))
        for account, future in pending:
            rows[account.id] = _fetch(account, lambda f=future: f.result(timeout=timeout_seconds))
    return [rows[account.id] for account in accounts]


def _fetch(account: SavedAccount, get) -> AccountBills:
    try:
        bills = get()
    except (AgencyUnavailable, FutureTimeout):
        return AccountBills(account, (), _("This agency is temporarily unavailable. Please try again later."))
    return AccountBills(account, tuple(bill for bill in bills if bill.status in OUTSTANDING))
