"""Money taken at a service hall's counter, in the ledger.

Cash goes into a till account of the cashier's shift (like the funding clearing account, a till's
balance is minus the cash it holds); a bank card is charged through the funding gateway's POS and
mirrored on its clearing account. Either way the agencies' settlement accounts receive the bills, in
a PAYMENT transfer like a wallet payment, so settlement and reconciliation treat them alike. Closing a
shift hands the counted cash over to the hall's bank account; a difference between counted and
expected cash goes to the counter differences account, so every closed till stands at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.wallet import ledger
from portal.wallet.errors import WalletError
from portal.wallet.funding import LinkedCard
from portal.wallet.ledger import valid_amount
from portal.wallet.models import AccountKind, LedgerAccount, TransferKind
from portal.wallet.types import PaymentLeg, TransferResult, to_json

DIFFERENCES_OWNER = "counter:differences"
REFUNDS_DUE_OWNER = "counter:refunds-due"


def till_owner(shift_reference: str) -> str:
    return f"till:{shift_reference}"


def hall_bank_owner(hall_code: str) -> str:
    return f"hall:{hall_code}"


@dataclass(frozen=True)
class CashUp:
    """What closing a till moved: the hand-over of the counted cash and any difference."""

    expected_fen: int  # the cash the till's payments took
    counted_fen: int
    handover_reference: str | None  # None when nothing was counted
    difference_reference: str | None  # None when the count matched
    replayed: bool = False

    @property
    def difference_fen(self) -> int:
        """Counted less expected: below zero the till was short, above zero it held too much."""
        return self.counted_fen - self.expected_fen


class CounterOperations:
    """Mixed into WalletService: needs ``session``, ``client``, ``gateway``, ``clock``, ``_once``."""

    def read_card(self, card_number: str) -> LinkedCard:
        """The card the POS reads (``card_invalid`` for a number that is not one): its token and mask."""
        return self.gateway.link_card(card_number)

    def take_cash(
        self, till: str, legs: Sequence[PaymentLeg], *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """Cash for bills: from the shift's till to the agencies."""
        request = {"till": till, "legs": [to_json(leg) for leg in legs], "description": description}
        return self._once(
            "take_cash",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._counter_payment(AccountKind.COUNTER_TILL, till, legs, description, None),
        )

    def take_card(
        self, card_token: str, legs: Sequence[PaymentLeg], *, idempotency_key: str, description: str = ""
    ) -> TransferResult:
        """A bank card at the counter's POS: charged through the gateway (``card_declined`` moves
        nothing), then from the gateway's clearing account to the agencies."""
        request = {"card": card_token, "legs": [to_json(leg) for leg in legs], "description": description}
        charge = (card_token, idempotency_key)
        return self._once(
            "take_card",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._counter_payment(
                AccountKind.FUNDING_CLEARING, self.gateway.clearing_owner, legs, description, charge
            ),
        )

    def cash_up(
        self, till: str, hall_bank: str, counted_fen: int, *, idempotency_key: str, description: str = ""
    ) -> CashUp:
        """Close a till: the counted cash to the hall's bank account, the difference to the differences
        account; afterwards the till stands at zero. The same key again moves nothing."""
        request = {"till": till, "bank": hall_bank, "counted_fen": counted_fen, "description": description}
        return self._once(
            "cash_up",
            idempotency_key,
            request,
            CashUp,
            lambda: self._cash_up(till, hall_bank, counted_fen, description),
        )

    def owe_back(
        self, payment_reference: str, amount_fen: int, *, idempotency_key: str, agency: str
    ) -> TransferResult:
        """A counter payment's bill the agency refused: its money leaves the agency for the counter refunds
        due account, where it waits for the hall to pay the payer back in person (the ledger holds no
        account of theirs, and the cash or the card's charge is long settled)."""
        request = {"payment": payment_reference, "amount_fen": amount_fen, "agency": agency, "to": "due"}
        return self._once(
            "owe_back",
            idempotency_key,
            request,
            TransferResult,
            lambda: self._refund(
                payment_reference,
                amount_fen,
                agency,
                ledger.ensure_account(self.session, AccountKind.COUNTER_REFUND_DUE, REFUNDS_DUE_OWNER),
            ),
        )

    def _counter_payment(
        self,
        kind: AccountKind,
        owner: str,
        legs: Sequence[PaymentLeg],
        description: str,
        charge: tuple[str, str] | None,
    ) -> TransferResult:
        source = ledger.ensure_account(self.session, kind, owner)
        agencies = self._agency_amounts(legs)
        total = sum(agencies.values())
        ledger.lock(self.session, [source, *agencies])
        if charge is not None:  # after the checks, so a refused payment never reaches the bank
            token, reference = charge
            self.gateway.charge(token, total, reference)
        transfer = ledger.post(
            self.session,
            TransferKind.PAYMENT,
            [(source, -total), *agencies.items()],
            actor=self.client,
            description=description,
            now=self.clock(),
        )
        return self._result(transfer, source)

    def _cash_up(self, till_ref: str, bank_ref: str, counted_fen: int, description: str) -> CashUp:
        if not isinstance(counted_fen, int) or counted_fen < 0:
            raise WalletError("invalid_amount", field="counted")
        till = ledger.ensure_account(self.session, AccountKind.COUNTER_TILL, till_ref)
        bank = ledger.ensure_account(self.session, AccountKind.HALL_BANK, bank_ref)
        differences = ledger.ensure_account(self.session, AccountKind.COUNTER_DIFFERENCE, DIFFERENCES_OWNER)
        ledger.lock(self.session, [till, bank, differences])
        expected = -till.balance_fen
        handover = difference = None
        if counted_fen:
            handover = self._post_pair(TransferKind.CASH_HANDOVER, bank, till, counted_fen, description)
        if till.balance_fen:
            # Short: the till still stands below zero; over: above. Either way it ends at zero.
            difference = self._post_pair(
                TransferKind.CASH_DIFFERENCE, differences, till, -till.balance_fen, description
            )
        return CashUp(expected, counted_fen, handover, difference)

    def _post_pair(
        self, kind: TransferKind, source: LedgerAccount, target: LedgerAccount, signed_fen: int, text: str
    ) -> str:
        """``signed_fen`` from source to target (below zero: the other way)."""
        valid_amount(abs(signed_fen))
        transfer = ledger.post(
            self.session,
            kind,
            [(source, -signed_fen), (target, signed_fen)],
            actor=self.client,
            description=text,
            now=self.clock(),
        )
        return transfer.reference
