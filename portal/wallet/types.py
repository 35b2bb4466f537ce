"""Frozen values that cross the wallet's boundary, in-process or as JSON over HTTP."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """Dataclasses to plain JSON values (datetimes and dates as ISO text)."""
    if dataclasses.is_dataclass(value):
        return {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """The inverse of to_json for the types below."""
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        raw = data.get(field.name)
        kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
        if raw is not None and kind.startswith("datetime"):
            raw = datetime.fromisoformat(raw)
        elif raw is not None and kind.startswith("Limits"):
            raw = from_json(Limits, raw)
        elif raw is not None and kind.startswith("tuple[StatementLine"):
            raw = tuple(from_json(StatementLine, item) for item in raw)
        elif raw is not None and kind.startswith("tuple[CardView"):
            raw = tuple(from_json(CardView, item) for item in raw)
        values[field.name] = raw
    return cls(**values)


@dataclass(frozen=True)
class PaymentLeg:
    """Part of a payment owed to one agency ('agency:water')."""

    agency: str
    amount_fen: int


@dataclass(frozen=True)
class Limits:
    per_payment_fen: int
    per_day_fen: int
    max_balance_fen: int


@dataclass(frozen=True)
class Balance:
    owner: str
    tier: str
    frozen: bool
    posted_fen: int
    held_fen: int
    available_fen: int
    spent_today_fen: int
    left_today_fen: int
    top_up_room_fen: int
    limits: Limits


@dataclass(frozen=True)
class TransferResult:
    reference: str
    kind: str
    amount_fen: int
    wallet_balance_fen: int
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class HoldResult:
    reference: str
    amount_fen: int
    status: str
    expires_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class StatementLine:
    reference: str
    kind: str
    amount_fen: int  # signed, as it changed this wallet
    balance_after_fen: int
    description: str
    created_at: datetime


@dataclass(frozen=True)
class StatementPage:
    lines: tuple[StatementLine, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class CardView:
    reference: str
    masked_number: str
    bank_name: str
    gateway: str


@dataclass(frozen=True)
class CardList:
    cards: tuple[CardView, ...]
