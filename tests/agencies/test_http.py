"""The http adapter against the sandbox agency server and against misbehaving servers, all on real
sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
from flask import Flask, Response

from portal.agencies import http as http_adapter
from portal.agencies.base import (
    AdapterContext,
    AgencyConfig,
    AgencyUnavailable,
    BillQuery,
    BillStatus,
    PaymentConfirmation,
    RefundNotice,
    call_adapter,
)
from portal.agencies.http import CircuitOpen, HttpAdapter, signature
from tests.conftest import SANDBOX_SECRET, serve, stop

SECRET = SANDBOX_SECRET
TRAFFIC_FIELDS = [
    {"name": "plate", "label_zh": "车牌号", "label_en": "Plate number", "pattern": r".{7,8}"},
    {"name": "notice_no", "label_zh": "决定书编号", "label_en": "Notice number", "pattern": r"[0-9]{16}"},
]
TAX_FIELDS = [
    {
        "name": "taxpayer_id",
        "label_zh": "纳税人识别号",
        "label_en": "Taxpayer number",
        "pattern": r"[0-9A-Z]{18}",
    }
]


@pytest.fixture(autouse=True)
def fresh_breakers():
    http_adapter._breakers.clear()
    yield
    http_adapter._breakers.clear()


def adapter(url, code="traffic", fields=TRAFFIC_FIELDS, secret=SECRET, timeout=1.0):
    settings = {"url": url, "secret": secret, "fields": fields, "timeout_seconds": timeout}
    return HttpAdapter(AgencyConfig(code, "交警", "Traffic Police", "traffic", settings), AdapterContext())


def test_traffic_fine_with_the_legal_late_fee(sandbox):
    bills = adapter(sandbox).lookup(
        BillQuery("traffic", (("plate", "渝a12345"), ("notice_no", "5001012026000123")))
    )

    (fine,) = bills
    assert fine.amount_due_fen == 20_000
    assert fine.late_fee_fen == 3_000  # decided 20 days ago: 5 days late x 3%
    assert fine.status is BillStatus.OVERDUE and fine.payer_name == "李四"


def test_tax_bill_by_credit_code_or_resident_id(sandbox):
    tax = adapter(sandbox, code="tax", fields=TAX_FIELDS)

    assert [
        bill.bill_id for bill in tax.lookup(BillQuery("tax", (("taxpayer_id", "91500000ma5u7q2x1w"),)))
    ] == ["TAX-2026-11-0001"]
    assert tax.lookup(BillQuery("tax", (("taxpayer_id", "11010519491231002X"),)))[0].amount_due_fen == 38_600
    assert tax.lookup(BillQuery("tax", (("taxpayer_id", "91500000MA5U7Q2X1L"),))) == []


def test_confirmation_is_idempotent_by_payment_id_and_a_refund_notice_reopens_the_fine(fresh_sandbox):
    confirmation = PaymentConfirmation("PAY-1", "traffic", "5001012026000123", 23_000, datetime.now(UTC))
    query = BillQuery("traffic", (("notice_no", "5001012026000123"), ("plate", "渝A12345")))

    first = adapter(fresh_sandbox).confirm_payment(confirmation)
    again = adapter(fresh_sandbox).confirm_payment(confirmation)

    assert first.accepted and first == again
    assert adapter(fresh_sandbox).lookup(query)[0].status is BillStatus.PAID
    part = RefundNotice("R-1", "PAY-1", "traffic", "5001012026000123", 3_000, datetime.now(UTC), "test")
    assert adapter(fresh_sandbox).notify_refund(part).accepted
    assert adapter(fresh_sandbox).lookup(query)[0].status is BillStatus.PAID  # a part refund: still paid
    rest = RefundNotice("R-2", "PAY-1", "traffic", "5001012026000123", 20_000, datetime.now(UTC), "test")
    adapter(fresh_sandbox).notify_refund(rest)
    assert adapter(fresh_sandbox).lookup(query)[0].status is not BillStatus.PAID


def test_a_part_payment_leaves_what_is_left_to_pay(fresh_sandbox):
    query = BillQuery("traffic", (("notice_no", "5001012026000123"), ("plate", "渝A12345")))
    before = adapter(fresh_sandbox).lookup(query)[0]

    adapter(fresh_sandbox).confirm_payment(
        PaymentConfirmation("PAY-2", "traffic", "5001012026000123", 5_000, datetime.now(UTC))
    )

    after = adapter(fresh_sandbox).lookup(query)[0]
    assert after.total_fen == before.total_fen - 5_000 and after.status is before.status


def test_wrong_secret_is_refused_by_the_agency(sandbox, app):
    with app.test_request_context(), pytest.raises(AgencyUnavailable):
        call_adapter(adapter(sandbox, secret="not-the-shared-secret"), "lookup", BillQuery("traffic", ()))


def misbehaving(
    body: bytes, status: int = 200, sign_with: str | None = SECRET, hits: list | None = None
) -> Flask:
    app = Flask("misbehaving")

    @app.post("/v1/lookup")
    def lookup():
        if hits is not None:
            hits.append(1)
        response = Response(body, status=status, mimetype="application/json")
        stamp = str(int(time.time()))
        response.headers[http_adapter.TIMESTAMP_HEADER] = stamp
        if sign_with:
            response.headers[http_adapter.SIGNATURE_HEADER] = signature(sign_with, str(status), stamp, body)
        return response

    return app


@pytest.mark.parametrize(
    "server_app",
    [
        misbehaving(b'{"error": "boom"}', status=500),
        misbehaving(b"<html>not json</html>"),
        misbehaving(json.dumps({"bills": []}).encode(), sign_with="someone-else's-secret"),
        misbehaving(json.dumps({"bills": [{"bill_id": "X", "amount_due_fen": 1.5}]}).encode()),
    ],
    ids=["status-500", "malformed-json", "bad-response-signature", "float-amount"],
)
def test_misbehaving_agency_becomes_unavailable(server_app, app):
    server, url = serve(server_app)
    try:
        with app.test_request_context(), pytest.raises(AgencyUnavailable):
            call_adapter(adapter(url), "lookup", BillQuery("traffic", ()))
    finally:
        stop(server)


def test_hanging_agency_times_out(app):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with app.test_request_context(), pytest.raises(AgencyUnavailable) as refused:
            call_adapter(adapter(url, timeout=0.5), "lookup", BillQuery("traffic", ()))
    finally:
        listener.close()

    assert "Timeout" in type(refused.value.__cause__).__name__


def test_circuit_opens_after_repeated_failures_and_spares_the_agency(app):
    hits: list[int] = []
    server, url = serve(misbehaving(b"{}", status=500, hits=hits))
    try:
        for _ in range(3):
            with app.test_request_context(), pytest.raises(AgencyUnavailable):
                call_adapter(adapter(url), "lookup", BillQuery("traffic", ()))
        with pytest.raises(CircuitOpen):
            adapter(url).lookup(BillQuery("traffic", ()))
    finally:
        stop(server)

    assert len(hits) == 3
