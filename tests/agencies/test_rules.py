"""Late fees on traffic fines, taxpayer ids and the circuit breaker."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.agencies.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from portal.agencies.fees import traffic_late_fee
from portal.agencies.taxpayer import normalize_taxpayer_id, uscc_check_character, uscc_valid
from portal.clock import business_day

DECIDED = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("days_after_decision", "fee_fen"),
    [(0, 0), (15, 0), (16, 600), (17, 1_200), (48, 19_800), (49, 20_000), (400, 20_000)],
)
def test_late_fee_starts_after_fifteen_days_at_three_percent_a_day_capped_at_the_fine(
    days_after_decision, fee_fen
):
    assert traffic_late_fee(20_000, DECIDED, DECIDED + timedelta(days=days_after_decision)) == fee_fen


def test_late_fee_day_boundaries_are_beijing_days():
    last_free_moment = datetime(2026, 3, 16, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 16 March in Beijing
    first_late_moment = datetime(2026, 3, 16, 16, 0, 0, tzinfo=UTC)  # 00:00:00 on 17 March in Beijing

    assert traffic_late_fee(20_000, DECIDED, business_day(last_free_moment)) == 0
    assert traffic_late_fee(20_000, DECIDED, business_day(first_late_moment)) == 600


@given(fine=st.integers(1, 10**9), days=st.integers(0, 2_000))
def test_late_fee_never_exceeds_the_fine_and_never_falls(fine, days):
    today = DECIDED + timedelta(days=days)
    fee = traffic_late_fee(fine, DECIDED, today)

    assert 0 <= fee <= fine
    assert fee <= traffic_late_fee(fine, DECIDED, today + timedelta(days=1))


@pytest.mark.parametrize("code", ["9144030071526726XG", "91330100716105852F", "914403001922038216"])
def test_published_credit_codes_are_valid(code):
    assert uscc_valid(code)
    assert normalize_taxpayer_id(code.lower()) == code


@pytest.mark.parametrize(
    "code", ["914403001922038217", "9144030071526726XI", "91440300", "", "0144030071526726XG"]
)
def test_broken_credit_codes_are_refused(code):
    assert not uscc_valid(code)


def test_a_resident_id_number_is_a_personal_taxpayer_id():
    assert normalize_taxpayer_id(" 11010519491231002x ") == "11010519491231002X"
    assert normalize_taxpayer_id("110105194912310021") is None


def test_check_character_of_the_first_seventeen():
    assert uscc_check_character("9144030071526726X") == "G"


class FakeClock:
    """Time that the test moves by hand (the breaker is given it, as it is given time.monotonic)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_repeated_failures_then_lets_one_trial_through():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, reset_seconds=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow() and not breaker.is_open

    breaker.record_failure()
    assert breaker.is_open and not breaker.allow()

    clock.now = 31
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # nobody else while it runs
    breaker.record_failure()
    assert not breaker.allow()

    clock.now = 62
    assert breaker.allow()
    breaker.record_success()
    assert not breaker.is_open and breaker.allow() and breaker.allow()


def test_breaker_tells_each_change_of_state_once():
    clock, heard = FakeClock(), []
    breaker = CircuitBreaker(threshold=2, reset_seconds=30, clock=clock, on_change=heard.append)
    breaker.record_failure()
    breaker.record_failure()  # opens
    breaker.record_failure()  # still open: nothing new to tell
    clock.now = 31
    assert breaker.allow()  # the trial: half-open
    breaker.record_success()  # closed again
    breaker.record_success()

    assert heard == [OPEN, HALF_OPEN, CLOSED]
    assert breaker.state == CLOSED
