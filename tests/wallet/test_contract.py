"""One contract for the wallet, run against the in-process service and the HTTP client (real socket)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from portal.wallet.errors import IdempotencyConflict, WalletError, WalletNotFound
from portal.wallet.types import PaymentLeg
from tests.wallet.conftest import CARD, key, unique

DECLINING_CARD = "6222020000040000002"  # a sandbox test card whose charges are always declined


def open_funded(client, amount_fen=0, tier="basic"):
    owner = unique("user")
    client.open_wallet(owner, tier)
    card = client.link_card(owner, CARD).reference
    if amount_fen:
        client.top_up(owner, amount_fen, card=card, idempotency_key=key())
    return owner, card


def agency(client):
    code = unique("water").split(":")[1]
    client.open_agency_account(code)
    return f"agency:{code}"


def test_new_wallet_is_empty_with_the_tier_limits(wallet_client):
    owner = unique("user")

    balance = wallet_client.open_wallet(owner, "basic")

    assert (balance.posted_fen, balance.available_fen, balance.held_fen) == (0, 0, 0)
    assert balance.limits.per_payment_fen == 200_000
    assert balance.limits.per_day_fen == 500_000
    assert balance.limits.max_balance_fen == 1_000_000
    assert wallet_client.open_wallet(owner, "basic") == balance  # opening twice is harmless


def test_top_up_pay_and_statement(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)

    paid = wallet_client.pay(
        owner, [PaymentLeg(water, 2_550)], idempotency_key=key(), description="water bill"
    )

    assert paid.kind == "payment" and paid.amount_fen == 2_550 and paid.wallet_balance_fen == 7_450
    page = wallet_client.statement(owner)
    assert [(line.kind, line.amount_fen, line.balance_after_fen) for line in page.lines] == [
        ("payment", -2_550, 7_450),
        ("top_up", 10_000, 10_000),
    ]
    assert page.total == 2
    assert wallet_client.balance(owner).posted_fen == 7_450


def test_same_key_same_request_replays_and_moves_nothing(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)
    same = key()

    first = wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)
    wallet_client.pay(owner, [PaymentLeg(water, 500)], idempotency_key=key())  # the balance moves on
    again = wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)

    assert again == dataclasses.replace(first, replayed=True) and not first.replayed  # the first result
    assert wallet_client.balance(owner).posted_fen == 8_500


def test_same_key_different_request_is_a_conflict(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)
    same = key()
    wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)

    with pytest.raises(IdempotencyConflict):
        wallet_client.pay(owner, [PaymentLeg(water, 1_001)], idempotency_key=same)
    assert wallet_client.balance(owner).posted_fen == 9_000


def test_a_key_belongs_to_the_operation_that_used_it_first(wallet_client):
    owner, card = open_funded(wallet_client, 10_000)
    water, gas = agency(wallet_client), agency(wallet_client)
    paid_with, topped_up_with = key(), key()
    wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=paid_with)
    wallet_client.top_up(owner, 1_000, card=card, idempotency_key=topped_up_with)

    with pytest.raises(IdempotencyConflict):
        wallet_client.top_up(owner, 1_000, card=card, idempotency_key=paid_with)
    with pytest.raises(IdempotencyConflict):  # two agencies: the general path, not the one statement
        wallet_client.pay(owner, [PaymentLeg(water, 500), PaymentLeg(gas, 500)], idempotency_key=paid_with)
    with pytest.raises(IdempotencyConflict):
        wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=topped_up_with)
    assert wallet_client.balance(owner).posted_fen == 10_000


def test_a_refused_payment_is_judged_afresh_when_retried_with_its_key(wallet_client):
    owner, card = open_funded(wallet_client, 500)
    water = agency(wallet_client)
    same = key()
    with pytest.raises(WalletError) as refused:
        wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)
    assert refused.value.code == "insufficient_funds"
    wallet_client.top_up(owner, 1_000, card=card, idempotency_key=key())

    paid = wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)

    assert not paid.replayed and paid.wallet_balance_fen == 500
    assert wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same).replayed


def test_payment_over_the_available_balance_is_refused(wallet_client):
    owner, _card = open_funded(wallet_client, 5_000)
    water = agency(wallet_client)

    with pytest.raises(WalletError) as refused:
        wallet_client.pay(owner, [PaymentLeg(water, 5_001)], idempotency_key=key())

    assert refused.value.code == "insufficient_funds"
    assert wallet_client.balance(owner).posted_fen == 5_000


def test_tier_limits_per_payment_daily_and_balance(wallet_client):
    owner, card = open_funded(wallet_client, 1_000_000)
    water = agency(wallet_client)

    with pytest.raises(WalletError) as over_balance:
        wallet_client.top_up(owner, 1, card=card, idempotency_key=key())
    assert over_balance.value.code == "balance_limit"

    with pytest.raises(WalletError) as per_payment:
        wallet_client.pay(owner, [PaymentLeg(water, 200_001)], idempotency_key=key())
    assert per_payment.value.code == "per_payment_limit"

    for _ in range(2):
        wallet_client.pay(owner, [PaymentLeg(water, 200_000)], idempotency_key=key())
    with pytest.raises(WalletError) as daily:
        wallet_client.pay(owner, [PaymentLeg(water, 100_001)], idempotency_key=key())
    assert daily.value.code == "daily_limit"
    assert wallet_client.balance(owner).left_today_fen == 100_000

    raised = wallet_client.set_tier(owner, "id_verified")
    assert raised.limits.per_payment_fen == 500_000


def test_refund_partial_then_full_never_more_than_paid(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)
    payment = wallet_client.pay(owner, [PaymentLeg(water, 3_000)], idempotency_key=key())

    wallet_client.refund(payment.reference, 1_000, idempotency_key=key())
    with pytest.raises(WalletError) as too_much:
        wallet_client.refund(payment.reference, 2_001, idempotency_key=key())
    last = wallet_client.refund(payment.reference, 2_000, idempotency_key=key())

    assert too_much.value.code == "refund_exceeds_payment"
    assert last.kind == "refund" and last.wallet_balance_fen == 10_000


def test_refund_of_a_payment_to_several_agencies_names_the_agency(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water, gas = agency(wallet_client), agency(wallet_client)
    payment = wallet_client.pay(
        owner, [PaymentLeg(water, 1_000), PaymentLeg(gas, 2_000)], idempotency_key=key()
    )

    with pytest.raises(WalletError) as ambiguous:
        wallet_client.refund(payment.reference, 500, idempotency_key=key())
    refund = wallet_client.refund(payment.reference, 2_000, idempotency_key=key(), agency=gas)

    assert ambiguous.value.code == "agency_required"
    assert payment.amount_fen == 3_000 and refund.wallet_balance_fen == 9_000


def test_hold_reserves_then_capture_and_release(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)

    hold = wallet_client.hold(owner, 6_000, idempotency_key=key())
    balance = wallet_client.balance(owner)
    assert (balance.posted_fen, balance.held_fen, balance.available_fen) == (10_000, 6_000, 4_000)
    with pytest.raises(WalletError):
        wallet_client.pay(owner, [PaymentLeg(water, 4_001)], idempotency_key=key())

    captured = wallet_client.capture(hold.reference, [PaymentLeg(water, 5_000)], idempotency_key=key())
    assert captured.wallet_balance_fen == 5_000
    assert wallet_client.balance(owner).available_fen == 5_000  # the unused 1,000 is released

    second = wallet_client.hold(owner, 2_000, idempotency_key=key())
    released = wallet_client.release(second.reference, idempotency_key=key())
    assert released.status == "released"
    with pytest.raises(WalletError) as again:
        wallet_client.capture(second.reference, [PaymentLeg(water, 1)], idempotency_key=key())
    assert again.value.code == "hold_not_active"
    assert wallet_client.balance(owner).available_fen == 5_000


def test_holds_expire(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)
    hold = wallet_client.hold(owner, 9_000, idempotency_key=key(), ttl_seconds=1)

    time.sleep(1.2)

    assert wallet_client.balance(owner).available_fen == 10_000
    with pytest.raises(WalletError) as expired:
        wallet_client.capture(hold.reference, [PaymentLeg(water, 100)], idempotency_key=key())
    assert expired.value.code == "hold_expired"


def test_frozen_wallet_receives_refunds_but_cannot_pay_or_withdraw(wallet_client):
    owner, card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)
    payment = wallet_client.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=key())

    wallet_client.set_frozen(owner, True)
    for attempt in (
        lambda: wallet_client.pay(owner, [PaymentLeg(water, 1)], idempotency_key=key()),
        lambda: wallet_client.withdraw(owner, 1, card=card, idempotency_key=key()),
    ):
        with pytest.raises(WalletError) as frozen:
            attempt()
        assert frozen.value.code == "wallet_frozen"
    refund = wallet_client.refund(payment.reference, 1_000, idempotency_key=key())

    assert refund.wallet_balance_fen == 10_000


def test_withdraw_to_the_bank(wallet_client):
    owner, card = open_funded(wallet_client, 10_000)

    result = wallet_client.withdraw(owner, 4_000, card=card, idempotency_key=key())

    assert result.kind == "withdrawal" and result.wallet_balance_fen == 6_000
    with pytest.raises(WalletError) as too_much:
        wallet_client.withdraw(owner, 6_001, card=card, idempotency_key=key())
    assert too_much.value.code == "insufficient_funds"


def test_declined_card_moves_nothing(wallet_client):
    owner, _card = open_funded(wallet_client)
    declining = wallet_client.link_card(owner, DECLINING_CARD).reference

    with pytest.raises(WalletError) as declined:
        wallet_client.top_up(owner, 1_000, card=declining, idempotency_key=key())

    assert declined.value.code == "card_declined"
    assert wallet_client.balance(owner).posted_fen == 0


@pytest.mark.parametrize("amount", [0, -1, 1.5, float("inf"), float("nan"), 10**20, "100", True, None])
def test_bad_amounts_are_refused_and_move_nothing(wallet_client, amount):
    owner, card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)

    for attempt in (
        lambda: wallet_client.top_up(owner, amount, card=card, idempotency_key=key()),
        lambda: wallet_client.pay(owner, [PaymentLeg(water, amount)], idempotency_key=key()),
        lambda: wallet_client.hold(owner, amount, idempotency_key=key()),
    ):
        with pytest.raises(WalletError) as refused:
            attempt()
        assert refused.value.code == "invalid_amount"
    assert wallet_client.balance(owner).posted_fen == 10_000


def test_unknown_wallet_agency_payment_and_card(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)

    with pytest.raises(WalletNotFound):
        wallet_client.balance(unique("user"))
    with pytest.raises(WalletNotFound):
        wallet_client.pay(owner, [PaymentLeg("agency:nowhere", 100)], idempotency_key=key())
    with pytest.raises(WalletNotFound):
        wallet_client.refund("TNOSUCHPAYMENT0000", 100, idempotency_key=key())
    with pytest.raises(WalletNotFound):
        wallet_client.top_up(owner, 100, card="sbx_a_not_mine", idempotency_key=key())
    with pytest.raises(WalletError) as invalid_card:
        wallet_client.link_card(owner, "6222020000000000019")
    assert invalid_card.value.code == "card_invalid"


def test_statement_pages_and_filters(wallet_client):
    owner, _card = open_funded(wallet_client, 10_000)
    water = agency(wallet_client)
    for _ in range(5):
        wallet_client.pay(owner, [PaymentLeg(water, 100)], idempotency_key=key())

    first = wallet_client.statement(owner, page=1, per_page=4)
    second = wallet_client.statement(owner, page=2, per_page=4)
    top_ups = wallet_client.statement(owner, kind="top_up")

    assert first.total == 6 and first.pages == 2 and len(first.lines) == 4 and len(second.lines) == 2
    assert second.lines[-1].kind == "top_up"
    assert [line.kind for line in top_ups.lines] == ["top_up"]
    balances = [line.balance_after_fen for line in (*first.lines, *second.lines)]
    assert balances == [9_500, 9_600, 9_700, 9_800, 9_900, 10_000]
