"""Funding gateways move money between residents' bank cards and the wallet's clearing account.

The sandbox bank is the default and is labelled as such everywhere: no real money moves. A real
acquirer implements the same protocol (card linking returns a token; charges and payouts by token).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from portal.wallet.errors import WalletError


@dataclass(frozen=True)
class LinkedCard:
    token: str
    masked_number: str
    bank_name: str


class FundingGateway(Protocol):
    name: str
    clearing_owner: str  # the funding clearing account that mirrors this gateway's money

    def link_card(self, card_number: str) -> LinkedCard: ...

    def charge(self, token: str, amount_fen: int, reference: str) -> None: ...

    def payout(self, token: str, amount_fen: int, reference: str) -> None: ...


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


SANDBOX_BANKS = {
    "622202": "工商银行 ICBC",
    "621700": "建设银行 CCB",
    "622848": "农业银行 ABC",
    "621661": "中国银行 BOC",
    "622588": "招商银行 CMB",
}
DECLINING_SUFFIX = "0002"  # sandbox test cards ending in 0002 link but every charge is declined


class SandboxBank:
    """A pretend bank for the demo and tests. Cards must pass the Luhn check; nothing real moves."""

    name = "sandbox"
    label = "Sandbox bank (test money)"
    clearing_owner = "bank:sandbox"

    def link_card(self, card_number: str) -> LinkedCard:
        digits = "".join(card_number.split())
        if not (digits.isascii() and digits.isdigit() and 16 <= len(digits) <= 19 and luhn_valid(digits)):
            raise WalletError("card_invalid", field="card_number")
        digest = hashlib.sha256(digits.encode()).hexdigest()[:24]
        mode = "d" if digits.endswith(DECLINING_SUFFIX) else "a"
        bank = SANDBOX_BANKS.get(digits[:6], "沙箱银行 Sandbox Bank")
        return LinkedCard(token=f"sbx_{mode}_{digest}", masked_number=f"**** {digits[-4:]}", bank_name=bank)

    def charge(self, token: str, amount_fen: int, reference: str) -> None:
        self._approve(token)

    def payout(self, token: str, amount_fen: int, reference: str) -> None:
        self._approve(token)

    @staticmethod
    def _approve(token: str) -> None:
        if token.startswith("sbx_d_"):
            raise WalletError("card_declined")


GATEWAYS: dict[str, type] = {"sandbox": SandboxBank}
