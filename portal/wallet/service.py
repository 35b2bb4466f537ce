"""WalletService: every wallet operation, with limits, holds and idempotency. It never commits.

Each mutating call runs in a savepoint with its idempotency record: the same key and request returns
the stored result and moves nothing; a deadlock or serialization failure rolls the savepoint back and
runs again with the same key; a refusal rolls back everything it did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from portal.clock import business_day
from portal.db import utcnow
from portal.wallet import ledger
from portal.wallet.campaigns import CampaignOperations
from portal.wallet.errors import SpoiltTransaction, WalletError, WalletNotFound
from portal.wallet.funding import FundingGateway
from portal.wallet.holds import HoldOperations
from portal.wallet.idempotency import IdempotentOperations, request_digest, valid_key
from portal.wallet.ledger import valid_amount
from portal.wallet.models import (
    AccountKind,
    BankCard,
    Entry,
    LedgerAccount,
    Transfer,
    TransferKind,
)
from portal.wallet.payouts import PayoutOperations
from portal.wallet.pg_payment import pay_in_one_statement
from portal.wallet.statement import read_statement
from portal.wallet.types import (
    Balance,
    CardList,
    CardView,
    Limits,
    PaymentLeg,
    StatementPage,
    TransferResult,
    to_json,
)


class WalletService(IdempotentOperations, HoldOperations, PayoutOperations, CampaignOperations):
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
        amount = valid_amount(amount_fen)
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
        if self.session.get_bind().dialect.name != "postgresql" or not valid_key(key) or len(legs) != 1:
            return None
        try:
            return self._pay_statement(key, request, owner, legs[0], description)
        except DBAPIError as error:
            # No savepoint on this path: the caller's transaction is spoilt and must be rolled back whole.
            raise SpoiltTransaction("the one-statement payment failed; roll back and retry") from error

    def _pay_statement(self, key, request, owner, leg: PaymentLeg, description) -> TransferResult | None:
        return pay_in_one_statement(
            self.session,
            client=self.client,
            key=key,
            digest=request_digest("pay", request),
            owner=owner,
            agency=leg.agency,
            amount_fen=valid_amount(leg.amount_fen),
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
            amounts[leg.agency] = amounts.get(leg.agency, 0) + valid_amount(leg.amount_fen)
        total = valid_amount(sum(amounts.values())) if amounts else valid_amount(0)
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
        amount = valid_amount(amount_fen)
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
        return read_statement(
            self.session,
            self._wallet(owner),
            page=page,
            per_page=per_page,
            kind=kind,
            date_from=date_from,
            date_to=date_to,
        )

    # -- helpers ----------------------------------------------------------------------------------
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
            amounts[account] = amounts.get(account, 0) + valid_amount(leg.amount_fen)
        valid_amount(sum(amounts.values()))
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
        left = limits.per_day_fen - self._spent_today(wallet)
        refusal = spending_refusal(limits, left, wallet.balance_fen - wallet.held_fen, amount)
        if refusal is not None:
            raise refusal

    def _today(self) -> str:
        return business_day(self.clock()).isoformat()

    def _spent_today(self, wallet: LedgerAccount) -> int:
        return wallet.spent_day_fen if wallet.spent_day == self._today() else 0

    def _add_spent(self, wallet: LedgerAccount, amount: int) -> None:
        today = self._today()
        if wallet.spent_day != today:
            wallet.spent_day, wallet.spent_day_fen = today, 0
        wallet.spent_day_fen += amount

    @staticmethod
    def _result(transfer: Transfer, wallet: LedgerAccount) -> TransferResult:
        return TransferResult(
            reference=transfer.reference,
            kind=transfer.kind.value,
            amount_fen=transfer.amount_fen,
            wallet_balance_fen=wallet.balance_fen,
            created_at=transfer.created_at,
        )


def spending_refusal(
    limits: Limits, left_today_fen: int, available_fen: int, amount: int
) -> WalletError | None:
    """Why paying ``amount`` would be refused, in the order the wallet checks: the per-payment limit, the
    day's limit (Beijing time), then the funds; None when it would go through. The payment review page
    asks it too, so a resident learns of a limit before confirming, in the words the refusal uses."""
    if amount > limits.per_payment_fen:
        return WalletError("per_payment_limit", field="amount", limit=limits.per_payment_fen)
    if amount > left_today_fen:
        return WalletError(
            "daily_limit", field="amount", limit=limits.per_day_fen, left=max(0, left_today_fen)
        )
    if amount > available_fen:
        return WalletError("insufficient_funds", field="amount", available=available_fen, amount=amount)
    return None
