"""WalletService: every wallet operation, with limits, holds and idempotency. It never commits.
Cards, payments, holds, payouts, campaign budgets and counter takings are mixed in from modules of their own.

Each mutating call runs in a savepoint with its idempotency record: the same key and request returns
the stored result and moves nothing; a deadlock or serialization failure rolls the savepoint back and
runs again with the same key; a refusal rolls back everything it did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from portal.clock import business_day
from portal.db import utcnow
from portal.wallet import ledger
from portal.wallet.campaigns import CampaignOperations
from portal.wallet.cards import CardOperations
from portal.wallet.counter import CounterOperations
from portal.wallet.errors import WalletError
from portal.wallet.funding import FundingGateway
from portal.wallet.holds import HoldOperations
from portal.wallet.idempotency import IdempotentOperations
from portal.wallet.ledger import valid_amount
from portal.wallet.models import AccountKind, LedgerAccount, Transfer
from portal.wallet.paying import PaymentOperations
from portal.wallet.payouts import PayoutOperations
from portal.wallet.statement import read_statement
from portal.wallet.types import Balance, Limits, PaymentLeg, StatementPage, TransferResult


class WalletService(
    IdempotentOperations,
    CardOperations,
    PaymentOperations,
    HoldOperations,
    PayoutOperations,
    CampaignOperations,
    CounterOperations,
):
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
