"""Log lines are JSON objects that carry the request id; the worker's delivery of an outbox message logs
under the id of the request that queued it."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from flask import g
from sqlalchemy import select

from portal import outbox
from portal.outbox import OutboxMessage
from portal.worker import HANDLERS
from tests.conftest import login
from tests.factories import UserFactory
from tests.payments.conftest import confirm_form, resident, review, water  # noqa: F401 - fixtures


@pytest.fixture
def log_lines(app):
    """What the app's own log handler writes, parsed line by line."""
    handler = app.logger.handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def test_a_request_logs_one_json_object_per_line_with_its_request_id(client, db, log_lines):
    user = UserFactory(phone="13900000555")
    login(client, user.phone)

    client.get("/payments/P0000000000000XYZ", headers={"X-Request-ID": "support-ref-0001"})

    [line] = [line for line in log_lines() if line["logger"] == "portal.access"]
    assert line["request_id"] == "support-ref-0001"
    assert line["level"] == "WARNING"
    assert line["message"] == f"user:{user.id} asked for payment P0000000000000XYZ: not theirs or not there"
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
    assert "exception" not in line


def test_an_exception_is_logged_with_its_traceback_text(app, log_lines):
    with app.test_request_context():
        g.request_id = "failing-ref-0002"
        try:
            raise ValueError("the agency sent nonsense")
        except ValueError:
            app.logger.exception("could not read the answer")

    [line] = log_lines()
    assert line["message"] == "could not read the answer" and line["level"] == "ERROR"
    assert line["request_id"] == "failing-ref-0002"
    assert "Traceback" in line["exception"] and "ValueError: the agency sent nonsense" in line["exception"]


def test_the_worker_logs_a_delivery_under_the_id_of_the_request_that_queued_it(
    app,
    client,
    db,
    water,  # noqa: F811 - fixture
    resident,  # noqa: F811 - fixture
    log_lines,
):
    html = review(client, ["W-2"]).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html), headers={"X-Request-ID": "pay-request-0003"})
    queued = db.scalars(select(OutboxMessage)).all()
    assert queued and {json.loads(m.payload_json)["request_id"] for m in queued} == {"pay-request-0003"}

    with app.app_context():
        delivered = outbox.run(app.extensions["portal.db"], HANDLERS, once=True)

    assert delivered == len(queued)
    confirmations = [line for line in log_lines() if "confirm_payment ok" in line["message"]]
    assert [line["request_id"] for line in confirmations] == ["pay-request-0003"]
    assert confirmations[0]["logger"] == "portal.agencies"


def test_outside_a_request_nothing_is_added_and_the_dedupe_key_still_decides(app, db, log_lines):
    with app.app_context():
        first = outbox.enqueue(db, "test.topic", "logging-test:1", {"thing": 1})
        again = outbox.enqueue(db, "test.topic", "logging-test:1", {"thing": 2})
        app.logger.info("no request here")

    assert again == first and json.loads(db.get(outbox.OutboxMessage, first).payload_json) == {"thing": 1}
    assert [line["request_id"] for line in log_lines()] == ["-"]
