"""The sandbox agency server: a small app of its own that speaks docs/agency-protocol.md for the demo
traffic police (fines by plate number and notice number, with the legal late fee) and tax bureau (tax
bills by taxpayer id). It holds made-up data in memory. Run it with
`flask --app portal agencies sandbox`; tests start it on a free port."""

from __future__ import annotations

import hmac
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Flask, Response, request

from portal.agencies.fees import traffic_late_fee
from portal.agencies.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from portal.agencies.protocol import agency_openapi
from portal.agencies.taxpayer import normalize_taxpayer_id
from portal.clock import business_day
from portal.db import utcnow

WINDOW_SECONDS = 300
SOAK_NOTICE_PREFIX = "5999"  # notice numbers 5999xxxxxxxxxxxx: a made-up fine for any plate (load tests)


@dataclass(frozen=True)
class Faults:
    """Shares of POST requests the sandbox spoils on purpose, for chaos runs (bench/soak.py): a 500
    before doing anything, a hang past the adapter's timeout, the work done but the reply lost (a 502),
    or a signed 200 whose body is not JSON."""

    error: float = 0.0
    hang: float = 0.0
    lost: float = 0.0
    malformed: float = 0.0
    hang_seconds: float = 5.0

    @classmethod
    def parse(cls, text: str) -> Faults:
        """ "error=0.1,hang=0.05,lost=0.05,malformed=0.05" """
        values = dict(part.split("=", 1) for part in text.split(",") if part.strip())
        return cls(**{name.strip(): float(value) for name, value in values.items()})

    def pick(self, chance: random.Random) -> str:
        roll = chance.random()
        for kind in ("error", "hang", "lost", "malformed"):
            roll -= getattr(self, kind)
            if roll < 0:
                return kind
        return ""


@dataclass(frozen=True)
class Fine:
    plate: str
    notice_no: str
    driver: str
    offence: str
    fine_fen: int
    decided_days_ago: int


@dataclass(frozen=True)
class TaxBill:
    taxpayer_id: str
    bill_id: str
    payer: str
    tax_type: str
    period: str
    amount_fen: int
    due_in_days: int


FINES = (
    Fine("渝A12345", "5001012026000123", "李四", "机动车违反禁止标线指示", 20_000, 20),
    Fine("渝A12345", "5001012026000456", "李四", "机动车超速行驶不足 20%", 10_000, 3),
    Fine("渝B67890", "5001012026000789", "王五", "机动车违反规定停放", 15_000, 60),
)
TAX_BILLS = (
    TaxBill(
        "91500000MA5U7Q2X1W", "TAX-2026-11-0001", "重庆示例科技有限公司", "增值税", "2026-10", 1_234_500, 15
    ),
    TaxBill("11010519491231002X", "TAX-2026-11-0002", "张小三", "个人所得税", "2026-10", 38_600, 15),
)


def create_sandbox_app(
    secret: str, today: Callable[[], date] | None = None, faults: Faults | None = None
) -> Flask:
    app = Flask("portal_sandbox_agency")
    current = [faults or Faults()]  # a chaos run turns them off to drain (PUT /v1/faults)
    chance = random.Random()  # noqa: S311 - picks faults to inject, not a secret  # nosec B311
    received: dict[str, int] = {}  # payment or refund id -> how often it arrived (duplicates included)
    injected: dict[str, int] = {}
    current_day = today or (lambda: business_day(utcnow()))
    confirmations: dict[str, dict] = {}
    refunds: dict[str, dict] = {}
    paid: dict[tuple[str, str], int] = {}  # (agency, bill id) -> fen confirmed
    refunded: dict[tuple[str, str], int] = {}  # (agency, bill id) -> fen refunded since
    lock = threading.Lock()

    def reply(payload: dict, status: int = 200) -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        response = Response(body, status=status, mimetype="application/json")
        response.headers[TIMESTAMP_HEADER] = stamp
        response.headers[SIGNATURE_HEADER] = signature(secret, str(status), stamp, body)
        return response

    @app.before_request
    def check_signature():
        if request.endpoint in ("openapi_document", "records", "set_faults"):
            return None
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        given = request.headers.get(SIGNATURE_HEADER, "")
        expected = signature(secret, request.method, request.path, stamp, request.get_data())
        fresh = stamp.isascii() and stamp.isdigit() and abs(time.time() - int(stamp[:12])) <= WINDOW_SECONDS
        if not (fresh and hmac.compare_digest(expected, given)):
            return reply({"error": "bad signature"}, 401)
        request.environ["sandbox.fault"] = fault = current[0].pick(chance)
        if fault:
            with lock:
                injected[fault] = injected.get(fault, 0) + 1
        if fault == "error":
            return reply({"error": "injected failure"}, 500)
        if fault == "hang":
            time.sleep(current[0].hang_seconds)
        return None

    @app.after_request
    def spoil_reply(response: Response) -> Response:
        fault = request.environ.get("sandbox.fault")
        if fault == "lost":  # the work is done and recorded; the portal never hears of it
            return reply({"error": "reply lost"}, 502)
        if fault == "malformed":
            body, stamp = b"{not json", str(int(time.time()))
            spoilt = Response(body, status=200, mimetype="application/json")
            spoilt.headers[TIMESTAMP_HEADER] = stamp
            spoilt.headers[SIGNATURE_HEADER] = signature(secret, "200", stamp, body)
            return spoilt
        return response

    @app.put("/v1/faults")
    def set_faults():
        """A chaos run's switch (loopback only: the sandbox serves made-up data on 127.0.0.1)."""
        current[0] = Faults.parse(request.get_data(as_text=True))
        return Response("{}", mimetype="application/json")

    @app.get("/v1/records")
    def records():
        """What the sandbox received, for a chaos run's checks (made-up data; loopback only)."""
        with lock:
            return Response(
                json.dumps({"received": received, "confirmed": list(confirmations), "faults": injected}),
                mimetype="application/json",
            )

    @app.get("/v1/openapi.json")
    def openapi_document():
        return Response(json.dumps(agency_openapi(), ensure_ascii=False), mimetype="application/json")

    @app.post("/v1/lookup")
    def lookup():
        data = _json_object()
        if data is None or not isinstance(data.get("query"), dict):
            return reply({"error": "a JSON object with agency and query expected"}, 400)
        query, agency = data["query"], data.get("agency")
        if agency == "traffic":
            bills = _fine_bills(str(query.get("plate", "")), str(query.get("notice_no", "")), current_day())
        elif agency == "tax":
            bills = _tax_bills(str(query.get("taxpayer_id", "")), current_day())
        else:
            return reply({"error": "unknown agency"}, 404)
        with lock:
            for bill in bills:
                _apply_payments(bill, paid.get((agency, bill["bill_id"]), 0))
        return reply({"bills": bills})

    @app.post("/v1/confirmations")
    def confirm():
        data = _json_object() or {}
        payment_id = data.get("payment_id")
        if not isinstance(payment_id, str) or not payment_id or _fen(data.get("amount_fen")) <= 0:
            return reply({"error": "payment_id and a positive whole amount_fen required"}, 400)
        with lock:  # idempotent by payment id: the same answer every time
            received[payment_id] = received.get(payment_id, 0) + 1
            if payment_id not in confirmations:
                bill = (str(data.get("agency", "")), str(data.get("bill_id", "")))
                paid[bill] = paid.get(bill, 0) + _fen(data.get("amount_fen"))
            ack = confirmations.setdefault(
                payment_id,
                {
                    "payment_id": payment_id,
                    "accepted": True,
                    "agency_reference": f"SBX-{len(confirmations) + 1:06d}",
                    "amount_fen": _fen(data.get("amount_fen")),
                },
            )
        return reply(ack)

    @app.post("/v1/refunds")
    def refund():
        data = _json_object() or {}
        refund_id = data.get("refund_id")
        if not isinstance(refund_id, str) or not refund_id or _fen(data.get("amount_fen")) <= 0:
            return reply({"error": "refund_id and a positive whole amount_fen required"}, 400)
        with lock:  # idempotent by refund id; a refunded bill can be paid again
            received[refund_id] = received.get(refund_id, 0) + 1
            bill = (str(data.get("agency", "")), str(data.get("bill_id", "")))
            if refund_id not in refunds and bill in paid:
                refunded[bill] = refunded.get(bill, 0) + _fen(data.get("amount_fen"))
                if refunded[bill] >= paid[bill]:  # wholly refunded: open again; a part refund leaves it be
                    del paid[bill], refunded[bill]
            ack = refunds.setdefault(
                refund_id,
                {"payment_id": str(data.get("payment_id", "")), "accepted": True, "agency_reference": ""},
            )
        return reply(ack)

    app.config["SANDBOX_CONFIRMATIONS"] = confirmations  # read by tests that count deliveries
    return app


def _json_object() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _apply_payments(bill: dict, paid_fen: int) -> None:
    """What is left to pay once the portal's confirmed payments are counted (part payments too)."""
    if paid_fen <= 0:
        return
    left = bill["amount_due_fen"] + bill["late_fee_fen"] - paid_fen
    if left <= 0:
        bill["status"], bill["late_fee_fen"] = "paid", 0
        return
    bill["amount_due_fen"] = min(bill["amount_due_fen"], left)
    bill["late_fee_fen"] = left - bill["amount_due_fen"]


def _fen(value) -> int:
    """Whole fen, or 0 for anything else (negative amounts included)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _soak_fine(plate: str, notice_no: str) -> Fine | None:
    notice_no = notice_no.strip()
    if not (notice_no.startswith(SOAK_NOTICE_PREFIX) and len(notice_no) == 16 and notice_no.isdigit()):
        return None
    return Fine(
        plate.strip().upper(), notice_no, "赵六", "机动车违反规定停放", 1_000 + int(notice_no[-3:]), 3
    )


def _fine_bills(plate: str, notice_no: str, today: date) -> list[dict]:
    bills = []
    soak = _soak_fine(plate, notice_no)
    for fine in (*FINES, *((soak,) if soak else ())):
        if fine.plate == plate.strip().upper() and fine.notice_no == notice_no.strip():
            decided = today - timedelta(days=fine.decided_days_ago)
            bills.append(
                {
                    "bill_id": fine.notice_no,
                    "account_reference": fine.plate,
                    "payer_name": fine.driver,
                    "description": fine.offence,
                    "period": decided.isoformat(),
                    "amount_due_fen": fine.fine_fen,
                    "late_fee_fen": traffic_late_fee(fine.fine_fen, decided, today),
                    "due_date": (decided + timedelta(days=15)).isoformat(),
                    "status": "overdue" if today > decided + timedelta(days=15) else "unpaid",
                }
            )
    return bills


def _tax_bills(taxpayer_id: str, today: date) -> list[dict]:
    canonical = normalize_taxpayer_id(taxpayer_id)
    return [
        {
            "bill_id": bill.bill_id,
            "account_reference": bill.taxpayer_id,
            "payer_name": bill.payer,
            "description": bill.tax_type,
            "period": bill.period,
            "amount_due_fen": bill.amount_fen,
            "late_fee_fen": 0,
            "due_date": (today + timedelta(days=bill.due_in_days)).isoformat(),
            "status": "unpaid",
        }
        for bill in TAX_BILLS
        if canonical is not None and bill.taxpayer_id == canonical
    ]
