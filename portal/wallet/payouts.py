"""Agency payouts: settled money leaves the ledger for the agency's bank account."""

from __future__ import annotations

from portal.wallet import ledger
from portal.wallet.errors import WalletError
from portal.wallet.models import AccountKind, TransferKind
from portal.wallet.types import TransferResult

PAYOUT_CLEARING_OWNER = "bank:agency-payouts"


class PayoutOperations:
    """Mixed into WalletService: needs ``session``, ``client``, ``clock``, ``_once`` and ``_result``."""

    def pay_out_agency(
        self, agency: str, amount_fen: int, *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """Moves ``amount_fen`` from the agency's settlement account to the payout clearing account;
        a negative amount reclaims money (a day whose refunds exceeded its collections). The result's
        balance is the agency account's."""
        request = {"agency": agency, "amount_fen": amount_fen, "description": description}
        return self._once(
            "pay_out",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._pay_out(agency, amount_fen, description),
        )

    def _pay_out(self, agency: str, amount_fen: int, description: str) -> TransferResult:
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen == 0:
            raise WalletError("invalid_amount", field="amount")
        account = ledger.require_account(self.session, AccountKind.AGENCY_SETTLEMENT, agency)
        clearing = ledger.ensure_account(self.session, AccountKind.FUNDING_CLEARING, PAYOUT_CLEARING_OWNER)
        ledger.lock(self.session, [account, clearing])
        legs = [(account, -amount_fen), (clearing, amount_fen)]
        transfer = ledger.post(
            self.session,
            TransferKind.SETTLEMENT,
            legs,
            actor=self.client,
            description=description,
            now=self.clock(),
        )
        return self._result(transfer, account)
