"""The sandbox's fault injection, which chaos runs turn on: each kind of fault reaches the http adapter
as a failure it retries later, and a lost reply leaves the work done at the agency."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from portal.agencies.base import BillQuery, PaymentConfirmation
from portal.agencies.http import AgencyProtocolError
from portal.agencies.sandbox import Faults, create_sandbox_app
from tests.agencies.test_http import adapter, fresh_breakers  # noqa: F401 - the breakers start closed
from tests.conftest import SANDBOX_SECRET, SANDBOX_TODAY, serve, stop


@pytest.fixture
def faulty():
    servers = []

    def start(**shares):
        server, url = serve(
            create_sandbox_app(SANDBOX_SECRET, today=lambda: SANDBOX_TODAY, faults=Faults(**shares))
        )
        servers.append(server)
        return url

    yield start
    for server in servers:
        stop(server)


def confirm(url: str, payment_id: str = "PSOAK-1"):
    confirmation = PaymentConfirmation(payment_id, "traffic", "5999000000000123", 1_123, datetime.now(UTC))
    return adapter(url, timeout=0.5).confirm_payment(confirmation)


def records(url: str) -> dict:
    return httpx.get(url + "/v1/records", timeout=5).json()


def test_an_injected_error_does_nothing_at_the_agency(faulty):
    url = faulty(error=1.0)

    with pytest.raises(AgencyProtocolError, match="status 500"):
        confirm(url)

    assert records(url)["confirmed"] == [] and records(url)["faults"] == {"error": 1}


def test_a_lost_reply_leaves_the_confirmation_recorded_once_however_often_sent(faulty):
    url = faulty(lost=1.0)

    for _ in range(3):
        with pytest.raises(AgencyProtocolError, match="status 502"):
            confirm(url)

    assert records(url)["confirmed"] == ["PSOAK-1"] and records(url)["received"] == {"PSOAK-1": 3}


def test_a_malformed_reply_and_a_hang_are_failures(faulty):
    with pytest.raises(ValueError):
        confirm(faulty(malformed=1.0))
    with pytest.raises(httpx.TimeoutException):
        confirm(faulty(hang=1.0, hang_seconds=1.5))


def test_a_chaos_run_turns_the_faults_off_to_drain(faulty):
    url = faulty(error=1.0)

    httpx.put(url + "/v1/faults", content="", timeout=5)

    assert confirm(url).accepted


def test_fault_shares_parse_from_the_command_line_form():
    assert Faults.parse("error=0.1, hang=0.05,lost=0.05,malformed=0.02") == Faults(0.1, 0.05, 0.05, 0.02)
    assert Faults.parse("") == Faults()


def test_soak_notice_numbers_are_fines_for_any_plate(fresh_sandbox):
    bills = adapter(fresh_sandbox).lookup(
        BillQuery("traffic", (("plate", "渝C00042"), ("notice_no", "5999000000000042")))
    )

    assert [(bill.bill_id, bill.account_reference, bill.amount_due_fen) for bill in bills] == [
        ("5999000000000042", "渝C00042", 1_042)
    ]
