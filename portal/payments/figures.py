"""The payments' gauges for /metrics, read at each scrape (registered in portal.wiring)."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.payments.models import Payment, PaymentState


def payments_by_state(session: Session) -> list[Metric]:
    counts = dict(session.execute(select(Payment.state, func.count()).group_by(Payment.state)).all())
    gauge = GaugeMetricFamily("portal_payments", "Payments by state.", labels=["state"])
    for state in PaymentState:
        gauge.add_metric([state.value], counts.get(state, 0))
    return [gauge]
