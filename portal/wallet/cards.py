"""Bank cards on a wallet, and the money that moves between a card and the wallet (top-up, withdrawal)."""

from __future__ import annotations

from sqlalchemy import select

from portal.wallet import ledger
from portal.wallet.errors import WalletError, WalletNotFound
from portal.wallet.ledger import valid_amount
from portal.wallet.models import AccountKind, BankCard, LedgerAccount, TransferKind
from portal.wallet.types import CardList, CardView, TransferResult


class CardOperations:
    """Mixed into WalletService, whose rules (limits, funds, frozen) and ``gateway`` it uses."""

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
