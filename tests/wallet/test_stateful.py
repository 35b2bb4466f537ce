"""Hypothesis drives random sequences of wallet operations (with retries under the same key) against a
simple model; after every step the service must agree with the model and the ledger must verify."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from portal.wallet.errors import WalletError
from portal.wallet.types import PaymentLeg
from portal.wallet.verify import ledger_violations
from tests.wallet.conftest import CARD

LIMITS = {"per_payment": 200_000, "per_day": 500_000, "max_balance": 1_000_000}
amounts = st.integers(min_value=1, max_value=260_000)


@dataclass
class ModelWallet:
    balance: int = 0
    held: int = 0
    spent: int = 0


@dataclass
class ModelHold:
    reference: str
    wallet: int
    amount: int
    active: bool = True


@dataclass
class ModelPayment:
    reference: str
    wallet: int
    paid: int
    refunded: int = 0


class WalletMachine(RuleBasedStateMachine):
    moves = 0  # successful money movements over every example: proves the machine did real work

    def __init__(self, service) -> None:
        super().__init__()
        self.service = service
        tag = uuid.uuid4().hex[:8]
        self.agency_code = f"model-{tag}"
        service.open_agency_account(self.agency_code)
        self.owners = [f"user:model-{tag}-{n}" for n in range(2)]
        self.cards = []
        for owner in self.owners:
            service.open_wallet(owner, "basic")
            self.cards.append(service.link_card(owner, CARD).reference)
        self.wallets = [ModelWallet() for _ in self.owners]
        self.holds: list[ModelHold] = []
        self.payments: list[ModelPayment] = []
        self.last_call = None  # (callable, expected reference) of the last successful mutation

    @property
    def agency(self) -> str:
        return f"agency:{self.agency_code}"

    def call(self, operation):
        """Run an operation with a fresh key; remember it so a retry can replay it."""
        key = uuid.uuid4().hex
        result = operation(key)
        WalletMachine.moves += 1
        self.last_call = (operation, key, result)
        return result

    def expect_refusal(self, code: str, operation) -> None:
        try:
            operation(uuid.uuid4().hex)
        except WalletError as error:
            assert error.code == code, (error.code, code)
        else:
            raise AssertionError(f"expected {code}")

    def spending_refusal(self, wallet: ModelWallet, amount: int) -> str | None:
        if amount > LIMITS["per_payment"]:
            return "per_payment_limit"
        if amount > LIMITS["per_day"] - wallet.spent:
            return "daily_limit"
        if amount > wallet.balance - wallet.held:
            return "insufficient_funds"
        return None

    @rule(index=st.integers(0, 1), amount=amounts)
    def top_up(self, index, amount):
        wallet, owner, card = self.wallets[index], self.owners[index], self.cards[index]

        def operation(key):
            return self.service.top_up(owner, amount, card=card, idempotency_key=key)

        if amount > LIMITS["max_balance"] - wallet.balance:
            self.expect_refusal("balance_limit", operation)
            return
        self.call(operation)
        wallet.balance += amount

    @rule(index=st.integers(0, 1), amount=amounts)
    def pay(self, index, amount):
        wallet, owner = self.wallets[index], self.owners[index]

        def operation(key):
            return self.service.pay(owner, [PaymentLeg(self.agency, amount)], idempotency_key=key)

        refusal = self.spending_refusal(wallet, amount)
        if refusal:
            self.expect_refusal(refusal, operation)
            return
        result = self.call(operation)
        wallet.balance -= amount
        wallet.spent += amount
        self.payments.append(ModelPayment(result.reference, index, amount))

    @precondition(lambda self: self.payments)
    @rule(data=st.data(), amount=amounts)
    def refund(self, data, amount):
        payment = data.draw(st.sampled_from(self.payments))

        def operation(key):
            return self.service.refund(payment.reference, amount, idempotency_key=key)

        if amount > payment.paid - payment.refunded:
            self.expect_refusal("refund_exceeds_payment", operation)
            return
        self.call(operation)
        payment.refunded += amount
        self.wallets[payment.wallet].balance += amount

    @rule(index=st.integers(0, 1), amount=amounts)
    def hold(self, index, amount):
        wallet, owner = self.wallets[index], self.owners[index]

        def operation(key):
            return self.service.hold(owner, amount, idempotency_key=key)

        refusal = self.spending_refusal(wallet, amount)
        if refusal:
            self.expect_refusal(refusal, operation)
            return
        result = self.call(operation)
        wallet.held += amount
        wallet.spent += amount
        self.holds.append(ModelHold(result.reference, index, amount))

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=amounts)
    def capture(self, data, amount):
        hold = data.draw(st.sampled_from(self.holds))
        wallet = self.wallets[hold.wallet]

        def operation(key):
            return self.service.capture(
                hold.reference, [PaymentLeg(self.agency, amount)], idempotency_key=key
            )

        if not hold.active:
            self.expect_refusal("hold_not_active", operation)
            return
        if amount > hold.amount:
            self.expect_refusal("capture_exceeds_hold", operation)
            return
        result = self.call(operation)
        hold.active = False
        wallet.balance -= amount
        wallet.held -= hold.amount
        wallet.spent -= hold.amount - amount
        self.payments.append(ModelPayment(result.reference, hold.wallet, amount))

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data):
        hold = data.draw(st.sampled_from(self.holds))
        wallet = self.wallets[hold.wallet]

        def operation(key):
            return self.service.release(hold.reference, idempotency_key=key)

        if not hold.active:
            self.expect_refusal("hold_not_active", operation)
            return
        self.call(operation)
        hold.active = False
        wallet.held -= hold.amount
        wallet.spent -= hold.amount

    @precondition(lambda self: self.last_call is not None)
    @rule()
    def retry_with_the_same_key(self):
        operation, key, first = self.last_call
        again = operation(key)
        assert again == dataclasses.replace(first, replayed=True)  # the first result, whatever moved since

    @invariant()
    def service_agrees_with_the_model(self):
        for owner, wallet in zip(self.owners, self.wallets, strict=True):
            balance = self.service.balance(owner)
            assert (balance.posted_fen, balance.held_fen, balance.spent_today_fen) == (
                wallet.balance,
                wallet.held,
                wallet.spent,
            )
            assert balance.available_fen == wallet.balance - wallet.held >= 0

    @invariant()
    def ledger_verifies(self):
        assert ledger_violations(self.service.session) == []


def test_random_operation_sequences_match_the_model(wallet):
    WalletMachine.moves = 0
    run_state_machine_as_test(
        lambda: WalletMachine(wallet),
        settings=settings(
            max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
    assert WalletMachine.moves > 40  # about one real movement per example at least (86-300 seen)
