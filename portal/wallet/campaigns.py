"""Promotion budgets in the ledger: a campaign's budget account is funded once, pays each discount to
the agency the resident paid, and takes back the campaign's share of a refund.

The budget is a ledger account like any other, so `wallet verify` proves it; it never goes below zero
(checked here under the row lock, and on PostgreSQL also by a CHECK constraint).
"""

from __future__ import annotations

from portal.wallet import ledger
from portal.wallet.errors import WalletError
from portal.wallet.models import AccountKind, TransferKind
from portal.wallet.types import TransferResult

PROMOTION_FUND_OWNER = "bank:promotion-fund"  # where campaign money enters the ledger from


def budget_owner(campaign_code: str) -> str:
    return f"campaign:{campaign_code}"


class CampaignOperations:
    """Mixed into WalletService: needs ``session``, ``client``, ``clock``, ``_once`` and ``_result``."""

    def fund_budget(
        self, budget: str, amount_fen: int, *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """Money for a campaign enters its budget account; the result's balance is the budget's."""
        request = {"budget": budget, "amount_fen": amount_fen, "description": description}
        return self._once(
            "fund_budget",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._fund_budget(budget, amount_fen, description),
        )

    def pay_discount(
        self, budget: str, agency: str, amount_fen: int, *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """The campaign's share of a payment, from its budget to the agency; `budget_exhausted` when the
        budget holds less (the payment around it then fails whole)."""
        request = {"budget": budget, "agency": agency, "amount_fen": amount_fen, "description": description}
        return self._once(
            "pay_discount",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._budget_move(budget, agency, amount_fen, description, TransferKind.DISCOUNT),
        )

    def return_discount(
        self, budget: str, agency: str, amount_fen: int, *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """The campaign's share of a refund, from the agency back to the budget."""
        request = {"budget": budget, "agency": agency, "amount_fen": amount_fen, "description": description}
        return self._once(
            "return_discount",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._budget_move(budget, agency, -amount_fen, description, TransferKind.DISCOUNT_RETURN),
        )

    def return_budget(
        self, budget: str, amount_fen: int, *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """What a stopped campaign did not spend, from its budget back to the promotion fund;
        `budget_exhausted` when the budget holds less."""
        request = {"budget": budget, "amount_fen": amount_fen, "description": description}
        return self._once(
            "return_budget",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._return_budget(budget, amount_fen, description),
        )

    def _return_budget(self, budget: str, amount_fen: int, description: str) -> TransferResult:
        amount = ledger.valid_amount(amount_fen)
        account = ledger.require_account(self.session, AccountKind.PROMOTION_BUDGET, budget)
        fund = ledger.ensure_account(self.session, AccountKind.FUNDING_CLEARING, PROMOTION_FUND_OWNER)
        ledger.lock(self.session, [account, fund])
        if amount > account.balance_fen:
            raise WalletError("budget_exhausted", left=account.balance_fen)
        transfer = ledger.post(
            self.session,
            TransferKind.BUDGET_RETURN,
            [(account, -amount), (fund, amount)],
            actor=self.client,
            description=description,
            now=self.clock(),
        )
        return self._result(transfer, account)

    def _fund_budget(self, budget: str, amount_fen: int, description: str) -> TransferResult:
        amount = ledger.valid_amount(amount_fen)
        account = ledger.ensure_account(self.session, AccountKind.PROMOTION_BUDGET, budget)
        fund = ledger.ensure_account(self.session, AccountKind.FUNDING_CLEARING, PROMOTION_FUND_OWNER)
        ledger.lock(self.session, [account, fund])
        transfer = ledger.post(
            self.session,
            TransferKind.BUDGET_FUNDING,
            [(fund, -amount), (account, amount)],
            actor=self.client,
            description=description,
            now=self.clock(),
        )
        return self._result(transfer, account)

    def _budget_move(
        self, budget: str, agency: str, signed_fen: int, description: str, kind: TransferKind
    ) -> TransferResult:
        """signed_fen > 0 pays the agency from the budget; < 0 returns money to the budget."""
        ledger.valid_amount(abs(signed_fen))
        account = ledger.require_account(self.session, AccountKind.PROMOTION_BUDGET, budget)
        agency_account = ledger.require_account(self.session, AccountKind.AGENCY_SETTLEMENT, agency)
        ledger.lock(self.session, [account, agency_account])
        if signed_fen > account.balance_fen:
            raise WalletError("budget_exhausted", left=account.balance_fen)
        transfer = ledger.post(
            self.session,
            kind,
            [(account, -signed_fen), (agency_account, signed_fen)],
            actor=self.client,
            description=description,
            now=self.clock(),
        )
        return self._result(transfer, account)
