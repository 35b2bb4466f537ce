"""Prometheus metrics at GET /metrics, for the city's monitoring, never for the public.

What each process counts (requests, agency calls, receipt renders, rate-limit refusals, circuit
breakers) lives in prometheus_client's metrics below; what lives in the database (payments by state,
the outbox's depth and its oldest pending message) is read at scrape time by DatabaseCollector, so every
process reports the same figures.

Under gunicorn each worker process counts on its own. Set PROMETHEUS_MULTIPROC_DIR (an empty directory,
in the environment of gunicorn itself, before anything imports prometheus_client) and every process
writes its counts to files there, which a scrape sums (MultiProcessCollector on a fresh registry). The
directory must be emptied when the server starts (``on_starting``), and gunicorn's ``child_exit`` hook
must call ``child_exit`` below, so the gauges of a dead worker go away. Without the variable the
process's own default registry is served.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

from flask import Flask, Response, abort, current_app, g, request
from flask_limiter.errors import RateLimitExceeded
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.outbox import OutboxMessage, OutboxState
from portal.web import render_error

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOOPBACK = frozenset({"127.0.0.1", "::1"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STARTED = "metrics_started"

HTTP_REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests answered, by method, route (the endpoint, never the raw path) and status.",
    ["method", "endpoint", "status"],
)
HTTP_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Time from the first before_request hook to the response (commit included), by method and route.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
AGENCY_CALLS = Counter(
    "portal_agency_calls",
    "Calls to agency adapters (lookups, confirmations, refund notices), by agency, operation and outcome.",
    ["agency", "operation", "outcome"],
)
AGENCY_SECONDS = Histogram(
    "portal_agency_call_duration_seconds",
    "How long agency adapter calls took, failures included, by agency and operation.",
    ["agency", "operation"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
CIRCUIT_STATE = Gauge(
    "portal_agency_circuit_state",
    "Circuit breaker of a remote agency: 0 closed, 1 half-open (one trial call out), 2 open; the "
    "highest of the live processes.",
    ["agency"],
    multiprocess_mode="livemax",
)
RECEIPT_RENDER_SECONDS = Histogram(
    "portal_receipt_render_seconds",
    "Time to render one receipt PDF (WeasyPrint), in the worker or on a download.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
RATE_LIMITED = Counter(
    "portal_rate_limit_refusals",
    "Requests refused by a rate limit (429), by route.",
    ["endpoint"],
)


def init_app(app: Flask) -> None:
    """Call before db.init_app: the timer's after_request then runs after the commit point's, so a
    request's time includes its commit."""
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.add_url_rule("/metrics", endpoint="metrics", view_func=metrics_view, methods=["GET"])
    limiter.exempt(metrics_view)


def observe_agency_call(agency: str, operation: str, ok: bool, seconds: float) -> None:
    AGENCY_CALLS.labels(agency, operation, "ok" if ok else "error").inc()
    AGENCY_SECONDS.labels(agency, operation).observe(seconds)


def set_circuit_state(agency: str, state: int) -> None:
    CIRCUIT_STATE.labels(agency).set(state)


def on_starting(_server=None) -> None:
    """For gunicorn's ``on_starting`` hook: empty PROMETHEUS_MULTIPROC_DIR of an earlier run's files, so
    no count of a process long gone is summed into the new server's."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        for leftover in Path(path).glob("*.db"):
            leftover.unlink()


def child_exit(_server, worker) -> None:
    """For gunicorn's ``child_exit`` hook: the dead worker's live gauges stop being reported (its
    counters stay in the sums)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)


def metrics_view() -> Response:
    if not _may_scrape():
        abort(404)  # the same page as any unknown address: nothing tells that metrics are here
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # OpenMetrics if asked for
    return Response(encode(scrape_registry()), content_type=content_type)


def _may_scrape() -> bool:
    """With METRICS_TOKEN set, only a request with ``Authorization: Bearer <token>``; without it, only a
    client on this machine that no proxy forwarded (behind a local reverse proxy every request comes from
    loopback: set a token there)."""
    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return request.remote_addr in LOOPBACK and not forwarded


def scrape_registry() -> CollectorRegistry:
    """A fresh registry per scrape: the processes' metrics (summed from the files in multiprocess mode)
    and the database's figures."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(get_session()))
    return registry


class _ThisProcess:
    """The default registry's metrics (this module's and the process collector's), served as they are."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class DatabaseCollector:
    """Payments by state, the outbox by state and the age of its oldest pending message, read with short
    queries on the request's session. A database that does not answer gives ``portal_database_up 0``
    and no figures, never a failed scrape."""

    def __init__(self, session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("portal_database_up", "1 when the scrape could read the database, else 0.")
        try:
            figures = self._read()
        except SQLAlchemyError as error:
            current_app.logger.warning("metrics: the database did not answer: %s", error)
            with suppress(SQLAlchemyError):
                self.session.rollback()  # the commit point then has nothing failed to commit
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _read(self) -> list[Metric]:
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL statement_timeout = 2000"))  # a slow count never hangs a scrape
        domain_figures = [metric for figures in DOMAIN_FIGURES for metric in figures(session)]
        messages = dict(
            session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
        )
        oldest = session.scalar(
            select(func.min(OutboxMessage.created_at)).where(OutboxMessage.state == OutboxState.PENDING)
        )
        by_message = GaugeMetricFamily(
            "portal_outbox_messages", "Outbox messages by state (pending is the depth).", labels=["state"]
        )
        for state in OutboxState:
            by_message.add_metric([state.value], messages.get(state, 0))
        age = GaugeMetricFamily(
            "portal_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered (pending) outbox message; 0 when none waits.",
        )
        age.add_metric([], max((utcnow() - oldest).total_seconds(), 0.0) if oldest else 0.0)
        return [*domain_figures, by_message, age]


# Gauges a domain reads from its own tables at each scrape (the payments by state); portal.wiring adds them.
DOMAIN_FIGURES: list[Callable[[Session], list[Metric]]] = []


def _start_timer() -> None:
    g.setdefault(_STARTED, time.perf_counter())


def _count_request(response: Response) -> Response:
    method = request.method if request.method in _METHODS else "other"
    endpoint = request.endpoint or "unmatched"  # an unknown path is one label, whatever was asked for
    HTTP_REQUESTS.labels(method, endpoint, str(response.status_code)).inc()
    started = g.get(_STARTED)
    if started is not None:
        HTTP_SECONDS.labels(method, endpoint).observe(time.perf_counter() - started)
    return response


def _rate_limited(error: RateLimitExceeded):
    RATE_LIMITED.labels(request.endpoint or "unmatched").inc()
    return render_error(error.code)
