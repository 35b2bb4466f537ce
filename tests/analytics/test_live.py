"""The live overview: payments of the last minutes under the under-10 rule, agencies' confirmation lag
and the bills still awaiting it, the worker's queue, and the agencies not answering."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal import outbox
from portal.agencies.models import AgencyCategory
from portal.analytics.live import overview
from portal.audit.models import AuditEvent
from portal.db import utcnow
from portal.outbox import OutboxMessage
from portal.payments.models import CONFIRM_TOPIC, ItemState, PaymentItem
from tests.analytics.conftest import pay
from tests.conftest import login
from tests.factories import AgencyFactory, FinanceFactory, UserFactory


def test_the_last_minutes_confirmations_and_the_queue(app, db):
    now = utcnow()
    water = AgencyFactory(code="live-water", category=AgencyCategory.WATER)
    AgencyFactory(code="live-off", is_enabled=False)
    for minutes in range(12):  # one resident a minute for the last 12 minutes
        pay(db, UserFactory(), now - timedelta(minutes=minutes, seconds=30), [(water, 1_000, 0, None)])
    old = pay(db, UserFactory(), now - timedelta(minutes=40), [(water, 5_000, 0, None)])
    for item in db.scalars(sa.select(PaymentItem)):
        item.confirmed_at = item.payment.paid_at + timedelta(seconds=20)
    old.items[0].state, old.items[0].confirmed_at = ItemState.AWAITING, None
    with app.app_context():
        message = outbox.enqueue(db, CONFIRM_TOPIC, "confirm:live", {"item": 1, "agency": "live-water"})
    db.get(OutboxMessage, message).attempts = 2
    db.flush()

    live = overview(db, now)
    five, fifteen, hour = live.windows
    assert (five.minutes, five.payments.value, five.payments.shown) == (5, 5, False)  # five residents: <10
    assert (fifteen.payments.value, fifteen.payments.shown, fifteen.amount_fen.value) == (12, True, 12_000)
    assert (hour.payments.value, hour.amount_fen.value) == (13, 17_000)
    assert live.awaiting == 1 and live.oldest_awaiting_seconds == 40 * 60
    assert (live.lag_median_seconds, live.lag_max_seconds) == (20, 20)
    assert (live.outbox_due, live.outbox_retrying, live.outbox_dead) == (1, 1, 0)
    assert live.not_answering == ["live-water"] and live.disabled == ["live-off"]


def test_the_page_and_its_panel(app, db):
    client = app.test_client()
    client.get("/language/en")
    staff = FinanceFactory()
    login(client, staff.email)
    page = client.get("/analytics/live")
    assert page.status_code == 200 and "data-live-panel" in page.get_data(as_text=True)
    panel = client.get("/analytics/live/panel")
    assert panel.status_code == 200 and "Payments in the last minutes" in panel.get_data(as_text=True)
    assert panel.headers["Cache-Control"] == "no-store" and "<html" not in panel.get_data(as_text=True)
    viewed = db.scalars(sa.select(AuditEvent.subject).where(AuditEvent.action == "analytics.viewed")).all()
    assert viewed == ["analytics:live"]  # the page, not each refresh of its panel
