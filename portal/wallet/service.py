"""WalletService: every wallet operation, with limits, holds and idempotency. It never commits.

Each mutating call runs in a savepoint with its idempotency record: the same key and request returns
the stored result and moves nothing; a deadlock or serialization failure rolls the savepoint back and
runs again with the same key; a refusal rolls back everything it did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from portal.clock import business_day, day_bounds
from portal.db import utcnow
from portal.money import MAX_AMOUNT_FEN
from portal.wallet import ledger
from portal.wallet.errors import IdempotencyConflict, WalletBusy, WalletError, WalletNotFound
from portal.wallet.funding import FundingGateway
from portal.wallet.models import (
    AccountKind,
    BankCard,
    Entry,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    LedgerAccount,
    Transfer,
    TransferKind,
)
from portal.wallet.pg_payment import pay_in_one_statement
from portal.wallet.types import (
    Balance,
    CardList,
    CardView,
    HoldResult,
    Limits,
    PaymentLeg,
    StatementLine,
    StatementPage,
    TransferResult,
    from_json,
    to_json,
)

R = TypeVar("R")
IDEMPOTENCY = IdempotencyRecord.__table__
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
MAX_ATTEMPTS = 5
TIERS = ("basic", "id_verified", "id_and_card")


def _retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in RETRYABLE_SQLSTATES or "database is locked" in str(error.orig)


def _valid_key(key: object) -> bool:
    return isinstance(key, str) and 8 <= len(key) <= 128 and key.isprintable()


def _digest(operation: str, request: dict[str, Any]) -> str:
    """The fingerprint of a request, stored with its idempotency key."""
    return hashlib.sha256(
        json.dumps({"operation": operation, **request}, sort_keys=True, default=str).encode()
    ).hexdigest()


def _valid_amount(amount_fen: object, field: str = "amount") -> int:
    if (
        isinstance(amount_fen, bool)
        or not isinstance(amount_fen, int)
        or not 0 < amount_fen <= MAX_AMOUNT_FEN
    ):
        raise WalletError("invalid_amount", field=field)
    return amount_fen


class WalletService:
    def __init__(
        self,
        session: Session,
        *,
        limits: dict[str, dict[str, int]],
        gateway: FundingGateway,
        client: str = "portal",
        hold_ttl_seconds: int = 900,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.limits = limits
        self.gateway = gateway
        self.client = client
        self.hold_ttl_seconds = hold_ttl_seconds
        self.clock = clock

    # -- accounts ---------------------------------------------------------------------------------
    def open_wallet(self, owner: str, tier: str = "basic") -> Balance:
        self._tier(tier)
        ledger.ensure_account(self.session, AccountKind.RESIDENT_WALLET, owner, tier=tier)
        return self.balance(owner)

    def open_agency_account(self, agency_code: str) -> None:
        ledger.ensure_account(self.session, AccountKind.AGENCY_SETTLEMENT, f"agency:{agency_code}")

    def set_tier(self, owner: str, tier: str) -> Balance:
        wallet = self._wallet(owner)
        wallet.tier = self._tier(tier)
        return self.balance(owner)

    def set_frozen(self, owner: str, frozen: bool) -> Balance:
        wallet = self._wallet(owner)
        wallet.is_frozen = bool(frozen)
        return self.balance(owner)

    def balance(self, owner: str) -> Balance:
        wallet = self._wallet(owner)
        limits = self._limits(wallet)
        held = self._active_held(wallet)
        spent = self._spent_today(wallet)
        return Balance(
            owner=owner,
            tier=wallet.tier,
            frozen=wallet.is_frozen,
            posted_fen=wallet.balance_fen,
            held_fen=held,
            available_fen=wallet.balance_fen - held,
            spent_today_fen=spent,
            left_today_fen=max(0, limits.per_day_fen - spent),
            top_up_room_fen=max(0, limits.max_balance_fen - wallet.balance_fen),
            limits=limits,
        )

    # -- bank cards -------------------------------------------------------------------------------
    def link_card(self, owner: str, card_number: str) -> CardView:
        wallet = self._wallet(owner)
        linked = self.gateway.link_card(card_number)
        card = self.session.scalar(
            select(BankCard).where(BankCard.account_id == wallet.id, BankCard.token == linked.token)
        )
        if card is None:
            card = BankCard(
                account_id=wallet.id,
                gateway=self.gateway.name,
                token=linked.token,
                masked_number=linked.masked_number,
                bank_name=linked.bank_name,
            )
            self.session.add(card)
        return self._card_view(card)

    def cards(self, owner: str) -> CardList:
        wallet = self._wallet(owner)
        rows = self.session.scalars(
            select(BankCard).where(BankCard.account_id == wallet.id).order_by(BankCard.id)
        )
        return CardList(cards=tuple(self._card_view(card) for card in rows))

    # -- money in and out -------------------------------------------------------------------------
    def top_up(self, owner: str, amount_fen: int, *, card: str, idempotency_key: str) -> TransferResult:
        return self._bank_move(TransferKind.TOP_UP, owner, amount_fen, card, idempotency_key)

    def withdraw(self, owner: str, amount_fen: int, *, card: str, idempotency_key: str) -> TransferResult:
        return self._bank_move(TransferKind.WITHDRAWAL, owner, amount_fen, card, idempotency_key)

    def _bank_move(
        self, kind: TransferKind, owner: str, amount_fen: int, card: str, key: str
    ) -> TransferResult:
        request = {"owner": owner, "amount_fen": amount_fen, "card": card}
        operation = "top_up" if kind is TransferKind.TOP_UP else "withdraw"
        return self._once(
            operation, key, request, TransferResult, lambda: self._move_through_gateway(kind, key, **request)
        )

    def _move_through_gateway(
        self, kind: TransferKind, reference: str, owner: str, amount_fen: int, card: str
    ) -> TransferResult:
        """Money between the resident's bank card and the wallet, mirrored on the gateway's clearing
        account. The gateway gets the idempotency key as its reference, so it can spot a repeat."""
        amount = _valid_amount(amount_fen)
        wallet = self._wallet(owner)
        clearing = ledger.ensure_account(
            self.session, AccountKind.FUNDING_CLEARING, self.gateway.clearing_owner
        )
        token = self._card_token(wallet, card)
        ledger.lock(self.session, [wallet, clearing])
        self._expire_due_holds(wallet)
        self._refuse_if_frozen(wallet)
        if kind is TransferKind.TOP_UP:
            limits = self._limits(wallet)
            room = limits.max_balance_fen - wallet.balance_fen
            if amount > room:
                raise WalletError(
                    "balance_limit", field="amount", limit=limits.max_balance_fen, room=max(0, room)
                )
            self.gateway.charge(token, amount, reference)
            legs = [(wallet, amount), (clearing, -amount)]
        else:
            self._require_available(wallet, amount)
            self.gateway.payout(token, amount, reference)
            legs = [(wallet, -amount), (clearing, amount)]
        transfer = ledger.post(
            self.session, kind, legs, actor=self.client, description=self.gateway.name, now=self.clock()
        )
        return self._result(transfer, wallet)

    # -- payments and refunds ---------------------------------------------------------------------
    def pay(
        self, owner: str, legs: Sequence[PaymentLeg], *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        request = {"owner": owner, "legs": [to_json(leg) for leg in legs], "description": description}
        fast = self._pay_in_one_statement(owner, legs, description, idempotency_key, request)
        if fast is not None:
            return fast
        return self._once(
            "pay", idempotency_key, request, TransferResult, lambda: self._pay(owner, legs, description)
        )

    def _pay_in_one_statement(
        self, owner: str, legs: Sequence[PaymentLeg], description: str, key: str, request: dict[str, Any]
    ) -> TransferResult | None:
        """PostgreSQL's fast path for a payment to one agency (the statement locks the wallet, then the
        agency: the ledger's lock order); None sends the payment down the general path below."""
        if self.session.get_bind().dialect.name != "postgresql" or not _valid_key(key) or len(legs) != 1:
            return None
        amounts: dict[str, int] = {}
        for leg in legs:
            amounts[leg.agency] = amounts.get(leg.agency, 0) + _valid_amount(leg.amount_fen)
        if not amounts:
            return None
        _valid_amount(sum(amounts.values()))
        try:
            return self._pay_statement(key, request, owner, amounts, description)
        except DBAPIError as error:
            if _retryable(error):
                # No savepoint on this path: the caller's transaction is spoilt and must be retried whole.
                raise WalletBusy() from error
            raise

    def _pay_statement(self, key, request, owner, amounts, description) -> TransferResult | None:
        return pay_in_one_statement(
            self.session,
            client=self.client,
            key=key,
            digest=_digest("pay", request),
            owner=owner,
            amounts=amounts,
            description=description,
            now=self.clock(),
            today=self._today(),
            limits=self.limits,
        )

    def _pay(self, owner: str, legs: Sequence[PaymentLeg], description: str) -> TransferResult:
        """The hot path, in a few Core statements: lock and read every account in one SELECT ... FOR
        UPDATE (id order), check the rules on that state, then write the transfer, its entries and the
        new balances."""
        amounts: dict[str, int] = {}
        for leg in legs:
            amounts[leg.agency] = amounts.get(leg.agency, 0) + _valid_amount(leg.amount_fen)
        total = _valid_amount(sum(amounts.values())) if amounts else _valid_amount(0)
        wallet, agencies = ledger.lock_for_payment(self.session, owner, list(amounts))
        if wallet.held_fen:
            cached = self._wallet(owner)
            ledger.lock(self.session, [cached])  # refreshes the session's copy before holds change it
            self._expire_due_holds(cached)
            wallet, agencies = ledger.lock_for_payment(self.session, owner, list(amounts))
        self._refuse_if_frozen(wallet)
        self._check_spending(wallet, total)
        today = self._today()
        spent = (wallet.spent_day_fen if wallet.spent_day == today else 0) + total
        moves = [(wallet, -total), *((agencies[agency], amount) for agency, amount in amounts.items())]
        transfer = ledger.post_fast(
            self.session,
            TransferKind.PAYMENT,
            moves,
            actor=self.client,
            description=description,
            now=self.clock(),
            wallet_spent=(wallet.id, today, spent),
        )
        return TransferResult(
            reference=transfer.reference,
            kind=TransferKind.PAYMENT.value,
            amount_fen=total,
            wallet_balance_fen=wallet.balance_fen - total,
            created_at=transfer.created_at,
        )

    def refund(
        self, payment_reference: str, amount_fen: int, *, idempotency_key: str, agency: str | None = None
    ) -> TransferResult:
        request = {"payment": payment_reference, "amount_fen": amount_fen, "agency": agency}
        return self._once(
            "refund",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._refund(payment_reference, amount_fen, agency),
        )

    def _refund(self, payment_reference: str, amount_fen: int, agency: str | None) -> TransferResult:
        amount = _valid_amount(amount_fen)
        payment = self.session.scalar(
            select(Transfer).where(
                Transfer.reference == payment_reference, Transfer.kind == TransferKind.PAYMENT
            )
        )
        if payment is None:
            raise WalletNotFound("payment_not_found", reference=payment_reference)
        wallet_entry = next(entry for entry in payment.entries if entry.amount_fen < 0)
        agency_entry = self._refunded_leg(payment, agency)
        wallet, agency_account = wallet_entry.account, agency_entry.account
        ledger.lock(self.session, [wallet, agency_account])
        refunded = -int(
            self.session.scalar(
                select(func.coalesce(func.sum(Entry.amount_fen), 0))
                .join(Transfer, Entry.transfer_id == Transfer.id)
                .where(Transfer.related_transfer_id == payment.id, Entry.account_id == agency_account.id)
            )
            or 0
        )
        left = agency_entry.amount_fen - refunded
        if amount > left:
            raise WalletError("refund_exceeds_payment", field="amount", left=left)
        transfer = ledger.post(
            self.session,
            TransferKind.REFUND,
            [(agency_account, -amount), (wallet, amount)],
            actor=self.client,
            description=payment.description,
            related=payment,
            now=self.clock(),
        )
        return self._result(transfer, wallet)

    # -- holds ------------------------------------------------------------------------------------
    def hold(
        self, owner: str, amount_fen: int, *, idempotency_key: str, ttl_seconds: int | None = None
    ) -> HoldResult:
        request = {"owner": owner, "amount_fen": amount_fen, "ttl_seconds": ttl_seconds}
        return self._once("hold", idempotency_key, request, HoldResult, lambda: self._hold(**request))

    def _hold(self, owner: str, amount_fen: int, ttl_seconds: int | None) -> HoldResult:
        amount = _valid_amount(amount_fen)
        wallet = self._wallet(owner)
        ledger.lock(self.session, [wallet])
        self._expire_due_holds(wallet)
        self._refuse_if_frozen(wallet)
        self._check_spending(wallet, amount)
        now = self.clock()
        hold = Hold(
            reference=ledger.new_reference("H"),
            account=wallet,
            amount_fen=amount,
            expires_at=now + timedelta(seconds=ttl_seconds or self.hold_ttl_seconds),
            created_at=now,
        )
        self.session.add(hold)
        wallet.held_fen += amount
        self._add_spent(wallet, amount)
        self.session.flush()  # the CHECK that holds stay covered by the balance runs inside the savepoint
        return self._hold_result(hold)

    def capture(
        self, hold_reference: str, legs: Sequence[PaymentLeg], *, idempotency_key: str
    ) -> TransferResult:
        request = {"hold": hold_reference, "legs": [to_json(leg) for leg in legs]}
        return self._once(
            "capture", idempotency_key, request, TransferResult, lambda: self._capture(hold_reference, legs)
        )

    def _capture(self, hold_reference: str, legs: Sequence[PaymentLeg]) -> TransferResult:
        hold = self._hold_row(hold_reference)
        wallet = hold.account
        agency_amounts = self._agency_amounts(legs)
        ledger.lock(self.session, [wallet, *agency_amounts])
        # Every change to a hold happens under its wallet's lock: re-read it now that we hold that lock.
        self.session.refresh(hold)
        self._expire_due_holds(wallet)
        self._require_active(hold)
        self._refuse_if_frozen(wallet)
        total = sum(agency_amounts.values())
        if total > hold.amount_fen:
            raise WalletError("capture_exceeds_hold", field="amount", amount=hold.amount_fen)
        self._close_hold(hold, HoldStatus.CAPTURED, released_fen=hold.amount_fen - total)
        transfer = ledger.post(
            self.session,
            TransferKind.PAYMENT,
            [(wallet, -total), *agency_amounts.items()],
            actor=self.client,
            description=f"hold {hold.reference}",
            now=self.clock(),
        )
        hold.capture_transfer_id = transfer.id
        return self._result(transfer, wallet)

    def release(self, hold_reference: str, *, idempotency_key: str) -> HoldResult:
        return self._once(
            "release",
            idempotency_key,
            {"hold": hold_reference},
            HoldResult,
            lambda: self._release(hold_reference),
        )

    def _release(self, hold_reference: str) -> HoldResult:
        hold = self._hold_row(hold_reference)
        ledger.lock(self.session, [hold.account])
        # Every change to a hold happens under its wallet's lock: re-read it now that we hold that lock.
        self.session.refresh(hold)
        self._expire_due_holds(hold.account)
        self._require_active(hold)
        self._close_hold(hold, HoldStatus.RELEASED, released_fen=hold.amount_fen)
        return self._hold_result(hold)

    def expire_holds(self) -> int:
        """Expire every overdue hold (the worker and `wallet verify` call this); returns how many."""
        accounts = self.session.scalars(
            select(LedgerAccount)
            .join(Hold, Hold.account_id == LedgerAccount.id)
            .where(Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= self.clock())
            .distinct()
        ).all()
        return sum(self._expire_locked(account) for account in accounts)

    def _expire_locked(self, account: LedgerAccount) -> int:
        ledger.lock(self.session, [account])
        return self._expire_due_holds(account)

    # -- statement --------------------------------------------------------------------------------
    def statement(
        self,
        owner: str,
        *,
        page: int = 1,
        per_page: int = 20,
        kind: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> StatementPage:
        wallet = self._wallet(owner)
        page, per_page = max(1, int(page)), min(max(1, int(per_page)), 500)
        query = (
            select(Entry, Transfer)
            .join(Transfer, Entry.transfer_id == Transfer.id)
            .where(Entry.account_id == wallet.id)
        )
        if kind:
            query = query.where(Transfer.kind == TransferKind(kind))
        if date_from:
            query = query.where(Entry.created_at >= day_bounds(date_from)[0])
        if date_to:
            query = query.where(Entry.created_at < day_bounds(date_to)[1])
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(
            query.order_by(Entry.id.desc()).offset((page - 1) * per_page).limit(per_page)
        ).all()
        lines = tuple(
            StatementLine(
                reference=transfer.reference,
                kind=transfer.kind.value,
                amount_fen=entry.amount_fen,
                balance_after_fen=entry.balance_after_fen,
                description=transfer.description,
                created_at=entry.created_at,
            )
            for entry, transfer in rows
        )
        return StatementPage(lines=lines, page=page, per_page=per_page, total=total)

    # -- helpers ----------------------------------------------------------------------------------
    def _once(self, operation: str, key: str, request: dict[str, Any], result_type: type[R], work) -> R:
        if not _valid_key(key):
            raise WalletError("idempotency_conflict")
        digest = _digest(operation, request)
        for attempt in range(MAX_ATTEMPTS):
            savepoint = self.session.begin_nested()
            try:
                record_id, stored = self._claim(operation, key, digest)
                if stored is not None:
                    request_hash, result_json = stored
                    if request_hash != digest or result_json is None:
                        raise IdempotencyConflict()
                    savepoint.commit()
                    return dataclasses.replace(from_json(result_type, json.loads(result_json)), replayed=True)
                result = work()
                self.session.flush()  # ORM changes of the work go out before the result is stored
                self.session.execute(
                    update(IDEMPOTENCY)
                    .where(IDEMPOTENCY.c.id == record_id)
                    .values(result_json=json.dumps(to_json(result)))
                )
                savepoint.commit()
                return result
            except DBAPIError as error:
                savepoint.rollback()
                if not _retryable(error):
                    raise
                if attempt == MAX_ATTEMPTS - 1:
                    raise WalletBusy() from error
                time.sleep(0.01 * 2**attempt)
            except BaseException:
                savepoint.rollback()
                raise
        raise WalletBusy()

    def _claim(
        self, operation: str, key: str, digest: str
    ) -> tuple[int | None, tuple[str, str | None] | None]:
        """Insert the key, or return (None, (hash, result)) of the one already there. On PostgreSQL a
        concurrent insert of the same key waits here until the first transaction ends, then sees its
        stored result."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        new_id = self.session.execute(
            insert(IDEMPOTENCY)
            .values(
                client=self.client, key=key, operation=operation, request_hash=digest, created_at=self.clock()
            )
            .on_conflict_do_nothing(index_elements=["client", "key"])
            .returning(IDEMPOTENCY.c.id)
        ).scalar()
        if new_id is not None:
            return new_id, None
        stored = self.session.execute(
            select(IDEMPOTENCY.c.request_hash, IDEMPOTENCY.c.result_json).where(
                IDEMPOTENCY.c.client == self.client, IDEMPOTENCY.c.key == key
            )
        ).one()
        return None, (stored.request_hash, stored.result_json)

    def _wallet(self, owner: str) -> LedgerAccount:
        return ledger.require_account(self.session, AccountKind.RESIDENT_WALLET, owner)

    def _tier(self, tier: str) -> str:
        if tier not in self.limits:
            raise ValueError(f"unknown verification tier {tier!r}")
        return tier

    def _limits(self, wallet: LedgerAccount) -> Limits:
        return Limits(**self.limits.get(wallet.tier, self.limits["basic"]))

    def _agency_amounts(self, legs: Sequence[PaymentLeg]) -> dict[LedgerAccount, int]:
        if not legs:
            raise WalletError("invalid_amount", field="amount")
        amounts: dict[LedgerAccount, int] = {}
        for leg in legs:
            account = ledger.require_account(self.session, AccountKind.AGENCY_SETTLEMENT, leg.agency)
            amounts[account] = amounts.get(account, 0) + _valid_amount(leg.amount_fen)
        _valid_amount(sum(amounts.values()))
        return amounts

    def _refunded_leg(self, payment: Transfer, agency: str | None) -> Entry:
        legs = [entry for entry in payment.entries if entry.amount_fen > 0]
        if agency is not None:
            legs = [entry for entry in legs if entry.account.owner_ref == agency]
            if not legs:
                raise WalletNotFound("account_not_found", account=agency)
        if len(legs) > 1:
            raise WalletError("agency_required")
        return legs[0]

    def _card_token(self, wallet: LedgerAccount, card: str) -> str:
        row = self.session.scalar(
            select(BankCard).where(BankCard.account_id == wallet.id, BankCard.token == card)
        )
        if row is None:
            raise WalletNotFound("card_not_found", field="card")
        return row.token

    @staticmethod
    def _card_view(card: BankCard) -> CardView:
        return CardView(
            reference=card.token,
            masked_number=card.masked_number,
            bank_name=card.bank_name,
            gateway=card.gateway,
        )

    @staticmethod
    def _refuse_if_frozen(wallet: LedgerAccount) -> None:
        if wallet.is_frozen:
            raise WalletError("wallet_frozen")

    def _require_available(self, wallet: LedgerAccount, amount: int) -> None:
        available = wallet.balance_fen - wallet.held_fen
        if amount > available:
            raise WalletError("insufficient_funds", field="amount", available=available, amount=amount)

    def _check_spending(self, wallet: LedgerAccount, amount: int) -> None:
        """Per-payment limit, daily limit (Shanghai day), then the funds. Called under the wallet's lock."""
        limits = self._limits(wallet)
        if amount > limits.per_payment_fen:
            raise WalletError("per_payment_limit", field="amount", limit=limits.per_payment_fen)
        left = limits.per_day_fen - self._spent_today(wallet)
        if amount > left:
            raise WalletError("daily_limit", field="amount", limit=limits.per_day_fen, left=max(0, left))
        self._require_available(wallet, amount)

    def _today(self) -> str:
        return business_day(self.clock()).isoformat()

    def _spent_today(self, wallet: LedgerAccount) -> int:
        return wallet.spent_day_fen if wallet.spent_day == self._today() else 0

    def _add_spent(self, wallet: LedgerAccount, amount: int) -> None:
        today = self._today()
        if wallet.spent_day != today:
            wallet.spent_day, wallet.spent_day_fen = today, 0
        wallet.spent_day_fen += amount

    def _active_held(self, wallet: LedgerAccount) -> int:
        if wallet.held_fen == 0:
            return 0
        # int(): PostgreSQL sums bigints as numeric, which would reach JSON as a string.
        return int(
            self.session.scalar(
                select(func.coalesce(func.sum(Hold.amount_fen), 0)).where(
                    Hold.account_id == wallet.id,
                    Hold.status == HoldStatus.ACTIVE,
                    Hold.expires_at > self.clock(),
                )
            )
            or 0
        )

    def _expire_due_holds(self, wallet: LedgerAccount) -> int:
        if wallet.held_fen == 0:
            return 0
        due = self.session.scalars(
            select(Hold)
            .where(
                Hold.account_id == wallet.id,
                Hold.status == HoldStatus.ACTIVE,
                Hold.expires_at <= self.clock(),
            )
            .execution_options(populate_existing=True)
        ).all()
        for hold in due:
            self._close_hold(hold, HoldStatus.EXPIRED, released_fen=hold.amount_fen)
        return len(due)

    def _close_hold(self, hold: Hold, status: HoldStatus, *, released_fen: int) -> None:
        wallet = hold.account
        wallet.held_fen -= hold.amount_fen
        if released_fen and wallet.spent_day == business_day(hold.created_at).isoformat():
            wallet.spent_day_fen = max(0, wallet.spent_day_fen - released_fen)
        hold.status = status
        hold.closed_at = self.clock()

    def _hold_row(self, reference: str) -> Hold:
        hold = self.session.scalar(select(Hold).where(Hold.reference == reference))
        if hold is None:
            raise WalletNotFound("hold_not_found", reference=reference)
        return hold

    @staticmethod
    def _require_active(hold: Hold) -> None:
        if hold.status is HoldStatus.EXPIRED:
            raise WalletError("hold_expired")
        if hold.status is not HoldStatus.ACTIVE:
            raise WalletError("hold_not_active")

    @staticmethod
    def _hold_result(hold: Hold) -> HoldResult:
        return HoldResult(
            reference=hold.reference,
            amount_fen=hold.amount_fen,
            status=hold.status.value,
            expires_at=hold.expires_at,
        )

    @staticmethod
    def _result(transfer: Transfer, wallet: LedgerAccount) -> TransferResult:
        return TransferResult(
            reference=transfer.reference,
            kind=transfer.kind.value,
            amount_fen=transfer.amount_fen,
            wallet_balance_fen=wallet.balance_fen,
            created_at=transfer.created_at,
        )
