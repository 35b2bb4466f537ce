"""Domain events: what happened in one domain that others react to, instead of the first calling each
of them. The list of events is here; who listens to which is in ``portal.wiring``.

A listener either runs in the publisher's transaction (``subscribe``, called with the session): it
writes with the change that caused it or not at all (a receipt with its payment, a notice with its
refund). Or it runs later, in the worker (``subscribe_later``, called with the database): ``publish``
queues one outbox message per such listener in the same transaction, and the worker calls the listener
outside any transaction (it may ask an agency), at least once, so it must be idempotent. Events carry
ids and plain values only; a listener reads what else it needs."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal import outbox
from portal.db import Database


@dataclass(frozen=True)
class Event:
    def key(self) -> str:
        """What makes this event unique, for the outbox's dedupe key of a later listener."""
        return ":".join(str(value) for value in dataclasses.astuple(self))


@dataclass(frozen=True)
class PaymentPaid(Event):
    """Money left a wallet for bills (a resident at the portal, or auto-pay)."""

    payment_id: int


@dataclass(frozen=True)
class PaymentRefunded(Event):
    """Money of one paid bill went back: a finance refund, or the agency refused the bill. ``notice_key``
    is unique per refund; ``wallet_fen`` is the wallet's part (a campaign's share went to its budget)."""

    payment_id: int
    amount_fen: int
    wallet_fen: int
    transfer_reference: str
    notice_key: str


@dataclass(frozen=True)
class CounterPaymentOwedBack(Event):
    """An agency refused a bill paid at a counter: its money waits to be paid back at the hall (no
    wallet to return it to, no resident to tell)."""

    payment_id: int
    amount_fen: int


@dataclass(frozen=True)
class PaymentConfirmed(Event):
    """An agency acknowledged one paid bill (the payment line ``item_id``)."""

    payment_id: int
    item_id: int


@dataclass(frozen=True)
class WalletFrozen(Event):
    user_id: int
    flag_id: int


@dataclass(frozen=True)
class WalletUnfrozen(Event):
    user_id: int
    request_id: int


@dataclass(frozen=True)
class IdentityVerified(Event):
    """A resident's real name and national ID were checked: the wallet may now do more."""

    user_id: int


@dataclass(frozen=True)
class PasswordResetRequested(Event):
    """A reset link to send by the user's own channel; only in-transaction listeners see the link."""

    user_id: int
    url: str
    valid_for_seconds: int
    locale: str


@dataclass(frozen=True)
class CampaignApproved(Event):
    campaign_id: int


@dataclass(frozen=True)
class BatchLoaded(Event):
    """A clerk's batch of bills was committed: new and changed bills of one agency are in."""

    agency_id: int
    batch_id: int


Listener = Callable[[Session, Event], None]
LaterListener = Callable[[Database, Event], None]
_now: dict[type[Event], list[Listener]] = defaultdict(list)
_later: dict[type[Event], list[LaterListener]] = defaultdict(list)
LATER_TOPIC = "event.later"


def subscribe(event_type: type[Event], listener: Listener) -> None:
    if listener not in _now[event_type]:
        _now[event_type].append(listener)


def subscribe_later(event_type: type[Event], listener: LaterListener) -> None:
    if listener not in _later[event_type]:
        _later[event_type].append(listener)


def listeners(event_type: type[Event]) -> tuple[list[Listener], list[LaterListener]]:
    return list(_now[event_type]), list(_later[event_type])


def publish(session: Session, event: Event) -> None:
    """Run the in-transaction listeners now, in subscription order; queue the later ones."""
    for listener in _now[type(event)]:
        listener(session, event)
    for listener in _later[type(event)]:
        name = _name(listener)
        payload = {"event": type(event).__name__, "fields": dataclasses.asdict(event), "listener": name}
        outbox.enqueue(session, LATER_TOPIC, f"event:{name}:{type(event).__name__}:{event.key()}", payload)


def _name(listener: Listener | LaterListener) -> str:
    return f"{listener.__module__}.{listener.__qualname__}"


def run_later(database: Database, payload: dict) -> Callable[[Session], None]:
    """The outbox handler of LATER_TOPIC; a failing listener has its message tried again later."""
    event_type = next(kind for kind in _later if kind.__name__ == payload["event"])
    listener = next(found for found in _later[event_type] if _name(found) == payload["listener"])
    listener(database, event_type(**payload["fields"]))
    return lambda session: None
