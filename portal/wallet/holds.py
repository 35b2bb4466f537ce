"""Holds: funds reserved on a wallet (TigerBeetle's pending transfers), then captured, released or
expired. Every change to a hold happens under its wallet's lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select

from portal.clock import business_day
from portal.wallet import ledger
from portal.wallet.errors import WalletError, WalletNotFound
from portal.wallet.ledger import valid_amount
from portal.wallet.models import Hold, HoldStatus, LedgerAccount, TransferKind
from portal.wallet.types import HoldResult, PaymentLeg, TransferResult, to_json


class HoldOperations:
    """Mixed into WalletService, whose rules (limits, funds, frozen) it uses."""

    def hold(
        self, owner: str, amount_fen: int, *, idempotency_key: str, ttl_seconds: int | None = None
    ) -> HoldResult:
        request = {"owner": owner, "amount_fen": amount_fen, "ttl_seconds": ttl_seconds}
        return self._once("hold", idempotency_key, request, HoldResult, lambda: self._hold(**request))

    def _hold(self, owner: str, amount_fen: int, ttl_seconds: int | None) -> HoldResult:
        amount = valid_amount(amount_fen)
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
