"""Each risk rule trips on what it is for, and not on the operation just short of it; a hit returns the
facts it saw (numbers), not text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.risk.rules import (
    PAYMENT,
    TOP_UP,
    WITHDRAWAL,
    Move,
    Operation,
    many_payers,
    near_limit,
    new_account_top_up,
    quick_withdrawal,
    single_amount,
    velocity,
)

NOW = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
OLD_ACCOUNT = NOW - timedelta(days=400)


def op(kind=PAYMENT, amount=10_000, history=(), created=OLD_ACCOUNT, payers=(), recent_payers=()):
    return Operation(
        kind=kind,
        amount_fen=amount,
        at=NOW,
        history=list(history),
        account_created_at=created,
        per_payment_limit_fen=200_000,
        payers=frozenset(payers),
        recent_payers=frozenset(recent_payers),
    )


def ago(minutes: int, kind=PAYMENT, amount=10_000) -> Move:
    return Move(kind, amount, NOW - timedelta(minutes=minutes))


def test_single_amount():
    assert single_amount(op(amount=500_000), threshold_fen=500_000) == {"threshold_fen": 500_000}
    assert single_amount(op(amount=499_999), threshold_fen=500_000) is None


def test_velocity_by_count_and_by_total():
    nine = [ago(m) for m in range(1, 10)]
    assert velocity(op(history=nine), minutes=10, count=10, total_fen=10_000_000) == {
        "moves": 10,
        "total_fen": 100_000,
        "minutes": 10,
    }
    assert velocity(op(history=nine[:-1]), minutes=10, count=10, total_fen=10_000_000) is None
    assert (
        velocity(op(history=[ago(11)] * 9), minutes=10, count=10, total_fen=10_000_000) is None
    )  # too long ago
    big = [ago(5, amount=900_000)]
    assert velocity(op(amount=100_000, history=big), minutes=10, count=10, total_fen=1_000_000)
    assert velocity(op(amount=99_999, history=big), minutes=10, count=10, total_fen=1_000_000) is None


def test_near_limit_repeatedly():
    close = [ago(60, amount=190_000), ago(120, amount=185_000)]
    assert near_limit(op(amount=195_000, history=close), ratio=0.9, times=3, hours=24) == {
        "count": 3,
        "limit_fen": 200_000,
        "hours": 24,
    }
    assert near_limit(op(amount=170_000, history=close), ratio=0.9, times=3, hours=24) is None  # not close
    assert (
        near_limit(op(amount=195_000, history=close[:1]), ratio=0.9, times=3, hours=24) is None
    )  # twice only
    assert near_limit(op(kind=TOP_UP, amount=195_000, history=close), ratio=0.9, times=3, hours=24) is None


def test_withdrawal_straight_after_a_top_up():
    top_up = [ago(5, kind=TOP_UP, amount=100_000)]
    hit = quick_withdrawal(op(kind=WITHDRAWAL, amount=80_000, history=top_up), minutes=30, ratio=0.8)
    assert hit == {"minutes": 30}  # most of the top-up went straight out
    assert (  # a small part of it: an ordinary withdrawal
        quick_withdrawal(op(kind=WITHDRAWAL, amount=10_000, history=top_up), minutes=30, ratio=0.8) is None
    )
    late = [ago(45, kind=TOP_UP, amount=100_000)]
    assert quick_withdrawal(op(kind=WITHDRAWAL, amount=100_000, history=late), minutes=30, ratio=0.8) is None


def test_one_wallet_paying_for_many_payers():
    recent = {"张三", "李四", "王五", "赵六"}
    assert many_payers(op(payers={"钱七"}, recent_payers=recent), payers=5, days=7) == {
        "payers": 5,
        "days": 7,
    }
    assert many_payers(op(payers={"张三"}, recent_payers=recent), payers=5, days=7) is None


def test_large_top_up_by_a_new_account():
    new = NOW - timedelta(days=2)
    hit = new_account_top_up(op(kind=TOP_UP, amount=200_000, created=new), days=7, threshold_fen=200_000)
    assert hit == {"age_days": 2}  # facts (numbers), never a sentence: the page words them
    assert (
        new_account_top_up(op(kind=TOP_UP, amount=199_999, created=new), days=7, threshold_fen=200_000)
        is None
    )
    assert new_account_top_up(op(kind=TOP_UP, amount=500_000), days=7, threshold_fen=200_000) is None
