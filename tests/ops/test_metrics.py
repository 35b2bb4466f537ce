"""GET /metrics: what it counts, what it reads from the database, who may scrape it, and the sums of
several processes in multiprocess mode."""

from __future__ import annotations

import multiprocessing
import socket
import types
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from portal import metrics, outbox
from portal.agencies import http as http_adapter
from portal.agencies.base import AdapterContext, AgencyConfig, AgencyUnavailable, BillQuery, call_adapter
from portal.db import utcnow
from portal.outbox import OutboxMessage
from portal.worker import HANDLERS
from tests.conftest import SANDBOX_SECRET, make_config
from tests.payments.conftest import confirm_form, resident, review, water  # noqa: F401 - fixtures

TOKEN = "metrics-token-for-tests-0001"
LATENCY_BUCKETS = {
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1.0",
    "2.5",
    "5.0",
    "10.0",
    "+Inf",
}


def scrape(client, **kwargs) -> dict[tuple[str, frozenset], float]:
    """The exposition parsed: (sample name, labels) -> value."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before, after, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def fresh_breakers():
    http_adapter._breakers.clear()
    yield
    http_adapter._breakers.clear()


def test_requests_are_counted_by_route_and_status_with_latency_buckets(client, db):
    before = scrape(client)

    client.get("/")
    client.get("/")
    client.get("/no/such/page/4711")
    after = scrape(client)

    assert grew(
        before, after, "portal_http_requests_total", method="GET", endpoint="main.index", status="200"
    )
    assert (
        grew(before, after, "portal_http_requests_total", method="GET", endpoint="main.index", status="200")
        == 2
    )
    unmatched = {"method": "GET", "endpoint": "unmatched", "status": "404"}
    assert grew(before, after, "portal_http_requests_total", **unmatched) == 1
    index_buckets = {
        dict(labels)["le"]: count
        for (name, labels), count in after.items()
        if name == "portal_http_request_duration_seconds_bucket" and dict(labels)["endpoint"] == "main.index"
    }
    assert set(index_buckets) == LATENCY_BUCKETS
    assert (
        grew(
            before,
            after,
            "portal_http_request_duration_seconds_bucket",
            method="GET",
            endpoint="main.index",
            le="+Inf",
        )
        == 2
    )
    assert not any("4711" in str(labels) for _name, labels in after)  # paths never become labels


def test_payments_by_state_and_the_outbox_reflect_the_rows(
    app,
    client,
    db,
    water,  # noqa: F811 - fixture
    resident,  # noqa: F811 - fixture
):
    before = scrape(client)
    assert value(before, "portal_database_up") == 1
    assert value(before, "portal_outbox_oldest_pending_age_seconds") == 0

    html = review(client, ["W-2"]).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    db.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=1)))
    paid = scrape(client)

    assert grew(before, paid, "portal_payments", state="paid") == 1
    assert grew(before, paid, "portal_outbox_messages", state="pending") == 3  # agency, receipt, notice
    assert 3600 <= value(paid, "portal_outbox_oldest_pending_age_seconds") < 3700
    assert value(paid, "portal_payments", state="refunded") == value(
        before, "portal_payments", state="refunded"
    )

    with app.app_context():
        assert outbox.run(app.extensions["portal.db"], HANDLERS, once=True) == 3
    done = scrape(client)

    assert grew(before, done, "portal_payments", state="confirmed") == 1
    assert value(done, "portal_payments", state="paid") == value(before, "portal_payments", state="paid")
    assert value(done, "portal_outbox_messages", state="pending") == value(
        before, "portal_outbox_messages", state="pending"
    )
    assert grew(before, done, "portal_outbox_messages", state="delivered") == 3
    assert value(done, "portal_outbox_oldest_pending_age_seconds") == 0
    assert grew(before, done, "portal_receipt_render_seconds_count") == 1
    confirmed = {"agency": "water-pay", "operation": "confirm_payment", "outcome": "ok"}
    assert grew(before, done, "portal_agency_calls_total", **confirmed) == 1


def test_a_lookup_counts_an_agency_call_and_a_refusal_counts_a_rate_limit(
    app,
    client,
    db,
    water,  # noqa: F811 - fixture
):
    app.config["RATELIMIT_LOOKUP"] = "1 per minute"
    client.get("/language/en")
    before = scrape(client)

    first = client.get("/bills/water-pay?account_reference=3100200300")
    second = client.get("/bills/water-pay?account_reference=3100200300")
    after = scrape(client)

    assert (first.status_code, second.status_code) == (200, 429)
    looked_up = {"agency": "water-pay", "operation": "lookup", "outcome": "ok"}
    assert grew(before, after, "portal_agency_calls_total", **looked_up) == 1
    timed = {"agency": "water-pay", "operation": "lookup"}
    assert grew(before, after, "portal_agency_call_duration_seconds_count", **timed) == 1
    assert grew(before, after, "portal_rate_limit_refusals_total", endpoint="bills.lookup") == 1
    refused = {"method": "GET", "endpoint": "bills.lookup", "status": "429"}
    assert grew(before, after, "portal_http_requests_total", **refused) == 1
    assert "Too many requests" in second.get_data(as_text=True)  # still the friendly page
    assert second.headers["Retry-After"]


def test_remote_agency_calls_and_their_circuit_breaker(app, client, db, sandbox, fresh_breakers):
    fields = [
        {"name": "plate", "label_zh": "车牌号", "label_en": "Plate", "pattern": r".{7,8}"},
        {"name": "notice_no", "label_zh": "决定书编号", "label_en": "Notice", "pattern": r"[0-9]{16}"},
    ]
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]

    def remote(code: str, url: str) -> http_adapter.HttpAdapter:
        settings = {"url": url, "secret": SANDBOX_SECRET, "fields": fields, "timeout_seconds": 1.0}
        return http_adapter.HttpAdapter(
            AgencyConfig(code, "交警", "Traffic", "traffic", settings), AdapterContext()
        )

    before = scrape(client)
    query = BillQuery("traffic", (("plate", "渝A12345"), ("notice_no", "5001012026000123")))
    assert call_adapter(remote("traffic", sandbox), "lookup", query)  # the sandbox's traffic police
    dead = remote("mtr-dead", f"http://127.0.0.1:{dead_port}")
    for _ in range(3):
        with pytest.raises(AgencyUnavailable):
            call_adapter(dead, "lookup", query)
    after = scrape(client)

    live = {"agency": "traffic", "operation": "lookup", "outcome": "ok"}
    assert grew(before, after, "portal_agency_calls_total", **live) == 1
    assert (
        grew(
            before, after, "portal_agency_calls_total", agency="mtr-dead", operation="lookup", outcome="error"
        )
        == 3
    )
    assert ("portal_agency_circuit_state", frozenset({("agency", "traffic")})) in after
    assert value(after, "portal_agency_circuit_state", agency="traffic") == 0  # closed
    assert value(after, "portal_agency_circuit_state", agency="mtr-dead") == 2  # open


def test_without_a_token_only_this_machine_may_scrape(client, db):
    assert client.get("/metrics").status_code == 200
    outside = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "10.0.0.5"})
    assert outside.status_code == 404
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # a local proxy's
    assert proxied.status_code == 404


def test_with_a_token_only_the_bearer_of_it_may_scrape(app, client, db):
    app.config["METRICS_TOKEN"] = TOKEN
    outside = {"REMOTE_ADDR": "10.0.0.5"}

    assert client.get("/metrics", environ_overrides=outside).status_code == 404
    assert client.get("/metrics").status_code == 404  # loopback is not enough once a token is set
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}, environ_overrides=outside)
    assert wrong.status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404  # not a bearer
    samples = scrape(client, headers={"Authorization": f"Bearer {TOKEN}"}, environ_overrides=outside)
    assert value(samples, "portal_database_up") == 1


def test_a_short_token_stops_start_up():
    from config import ConfigError, TestingConfig

    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        TestingConfig(environ={"METRICS_TOKEN": "short"})


def test_a_database_that_does_not_answer_still_gives_a_scrape(backend, tmp_path):
    url = (
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
        if backend == "postgresql"
        else f"sqlite:///{tmp_path}/missing/portal.sqlite3"
    )
    from portal import create_app

    app = create_app(make_config(url))
    client = app.test_client()
    client.get("/no/such/page")

    samples = scrape(client)

    assert value(samples, "portal_database_up") == 0
    assert value(samples, "portal_http_requests_total", method="GET", endpoint="unmatched", status="404") >= 1
    assert not any(name == "portal_payments" for name, _labels in samples)
    app.extensions["portal.db"].dispose()


def _count_in_a_process(directory: str, database_url: str) -> None:
    """In a new process (spawned, so prometheus_client starts in multiprocess mode): one request, one
    open breaker."""
    import os

    assert os.environ[metrics.MULTIPROC_ENV] == directory
    from portal import create_app

    app = create_app(make_config(database_url))
    assert app.test_client().get("/healthz").status_code == 200
    metrics.set_circuit_state("mp-agency", 2)
    app.extensions["portal.db"].dispose()


def test_several_processes_are_summed_in_one_scrape(app, database_url, monkeypatch, tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left over")  # from an earlier run of the server
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(directory))
    metrics.on_starting()
    assert list(directory.iterdir()) == []

    spawn = multiprocessing.get_context("spawn")
    children = [spawn.Process(target=_count_in_a_process, args=(str(directory), database_url)) for _ in "ab"]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    assert [child.exitcode for child in children] == [0, 0]
    pids = [child.pid for child in children]

    client = app.test_client()
    samples = scrape(client)
    healthz = {"method": "GET", "endpoint": "main.healthz", "status": "200"}
    assert value(samples, "portal_http_requests_total", **healthz) == 2  # this process's own are not in files
    assert value(samples, "portal_agency_circuit_state", agency="mp-agency") == 2

    for pid in pids:
        metrics.child_exit(None, types.SimpleNamespace(pid=pid))
    samples = scrape(client)
    assert value(samples, "portal_http_requests_total", **healthz) == 2  # counters outlive their process
    assert ("portal_agency_circuit_state", frozenset({("agency", "mp-agency")})) not in samples
    assert not list(directory.glob("gauge_livemax_*.db"))
