"""Payments to agencies (PostgreSQL's one-statement path, or the general one) and their refunds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from portal.wallet import ledger
from portal.wallet.errors import SpoiltTransaction, WalletError, WalletNotFound
from portal.wallet.idempotency import request_digest, valid_key
from portal.wallet.ledger import valid_amount
from portal.wallet.models import Entry, LedgerAccount, Transfer, TransferKind
from portal.wallet.pg_payment import pay_in_one_statement
from portal.wallet.types import PaymentLeg, TransferResult, to_json


class PaymentOperations:
    """Mixed into WalletService, whose rules (limits, funds, frozen) it uses."""

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

    def _refund(
        self, payment_reference: str, amount_fen: int, agency: str | None, target: LedgerAccount | None = None
    ) -> TransferResult:
        """From the agency back to the account that paid (or to ``target``, for a payer the ledger holds no
        account of)."""
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
        wallet, agency_account = target or wallet_entry.account, agency_entry.account
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

    def _refunded_leg(self, payment: Transfer, agency: str | None) -> Entry:
        legs = [entry for entry in payment.entries if entry.amount_fen > 0]
        if agency is not None:
            legs = [entry for entry in legs if entry.account.owner_ref == agency]
            if not legs:
                raise WalletNotFound("account_not_found", account=agency)
        if len(legs) > 1:
            raise WalletError("agency_required")
        return legs[0]
