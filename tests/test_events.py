"""Domain events: in-transaction listeners run with the publisher's session, later ones go through the
outbox and run in the worker; the wiring subscribes every listener it lists."""

from dataclasses import dataclass

from sqlalchemy import select

from portal import events, outbox, wiring
from portal.outbox import OutboxMessage, OutboxState


@dataclass(frozen=True)
class Pinged(events.Event):
    number: int


seen_now: list[int] = []
seen_later: list[int] = []


def note_now(session, event: Pinged) -> None:
    seen_now.append(event.number)


def note_later(database, event: Pinged) -> None:
    seen_later.append(event.number)


def test_in_transaction_listeners_run_at_once_and_later_ones_through_the_outbox(app, db):
    events.subscribe(Pinged, note_now)
    events.subscribe_later(Pinged, note_later)
    with app.test_request_context():
        events.publish(db, Pinged(7))
        db.flush()  # the later listener's message is a row in the outbox now
        assert seen_now == [7]
        assert seen_later == []
        message = db.scalar(select(OutboxMessage).where(OutboxMessage.topic == events.LATER_TOPIC))
        assert message.dedupe_key.endswith("Pinged:7")
        events.publish(db, Pinged(7))  # the same event again: its message is not queued twice
        db.flush()
        assert (
            len(db.scalars(select(OutboxMessage).where(OutboxMessage.topic == events.LATER_TOPIC)).all()) == 1
        )
        db.commit()
        assert outbox.deliver(app.extensions["portal.db"], message.id, wiring.OUTBOX_HANDLERS) is True
    assert seen_later == [7]
    db.refresh(message)
    assert message.state is OutboxState.DELIVERED


def test_the_wiring_subscribes_each_listener_it_lists(app):
    for event_type, listener in wiring.IN_TRANSACTION:
        assert listener in events.listeners(event_type)[0]
    for event_type, listener in wiring.LATER:
        assert listener in events.listeners(event_type)[1]
    assert events.listeners(events.PaymentPaid)[0][:2] == [
        wiring.receipts_reactions.payment_paid,
        wiring.notify_reactions.payment_paid,
    ]
