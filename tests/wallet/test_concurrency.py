"""Races with real connections and committed transactions (PostgreSQL leg: several connections;
SQLite leg: threads on one file). Each test module gets a database of its own."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from portal import create_app
from portal.wallet.errors import IdempotencyConflict, WalletError
from portal.wallet.factory import wallet_service
from portal.wallet.models import AccountKind, IdempotencyRecord, LedgerAccount, Transfer
from portal.wallet.types import PaymentLeg
from portal.wallet.verify import ledger_violations
from tests.conftest import make_config
from tests.wallet.conftest import CARD

SOAK_SECONDS = float(os.environ.get("WALLET_SOAK_SECONDS", "30"))


@pytest.fixture(scope="module")
def live_app(make_database):
    url = make_database()
    app = create_app(make_config(url))
    yield app
    app.extensions["portal.db"].dispose()


def run(app, work):
    """One unit of work in its own transaction on its own connection, as a request or worker would."""
    with app.app_context(), app.extensions["portal.db"].write_transaction() as session:
        return work(wallet_service(session))


def setup_wallets(app, count: int, amount_fen: int, tier: str = "id_and_card") -> tuple[list[str], str]:
    tag = uuid.uuid4().hex[:8]
    owners = [f"user:{tag}-{n}" for n in range(count)]
    agency_code = f"race-{tag}"

    def create(wallet):
        wallet.open_agency_account(agency_code)
        for owner in owners:
            wallet.open_wallet(owner, tier)
            card = wallet.link_card(owner, CARD)
            if amount_fen:
                wallet.top_up(owner, amount_fen, card=card.reference, idempotency_key=f"fund-{owner}")

    run(app, create)
    return owners, f"agency:{agency_code}"


def test_twenty_parallel_payments_of_80_from_100_exactly_one_succeeds(live_app):
    (owner,), agency = setup_wallets(live_app, 1, 100)
    barrier = threading.Barrier(20)

    def attempt(n):
        barrier.wait()
        try:
            run(
                live_app,
                lambda w: w.pay(owner, [PaymentLeg(agency, 80)], idempotency_key=f"race-{owner}-{n}"),
            )
        except WalletError as error:
            return error.code
        return "paid"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert outcomes.count("paid") == 1
    assert set(outcomes) == {"paid", "insufficient_funds"}
    assert run(live_app, lambda w: w.balance(owner)).posted_fen == 20


def test_one_key_from_ten_threads_makes_one_transfer(live_app, backend):
    (owner,), agency = setup_wallets(live_app, 1, 10_000)
    barrier = threading.Barrier(10)
    shared_key = f"same-{uuid.uuid4().hex}"

    def attempt(_n):
        barrier.wait()
        return run(live_app, lambda w: w.pay(owner, [PaymentLeg(agency, 1_000)], idempotency_key=shared_key))

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(attempt, range(10)))

    assert len({result.reference for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert run(live_app, lambda w: w.balance(owner)).posted_fen == 9_000
    assert run(live_app, lambda w: w.statement(owner, kind="payment")).total == 1
    assert key_holders(live_app, shared_key) == ((1, 0) if backend == "postgresql" else (0, 1))


def test_one_key_from_ten_threads_when_the_wallet_affords_one_payment_replays_it(live_app):
    # Those who wait for the first find too little money left, fall back to the general path and find the
    # payment there, instead of refusing it.
    (owner,), agency = setup_wallets(live_app, 1, 1_000)
    barrier = threading.Barrier(10)
    shared_key = f"same-{uuid.uuid4().hex}"

    def attempt(_n):
        barrier.wait()
        return run(live_app, lambda w: w.pay(owner, [PaymentLeg(agency, 1_000)], idempotency_key=shared_key))

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(attempt, range(10)))

    assert len({result.reference for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert run(live_app, lambda w: w.balance(owner)).posted_fen == 0


def test_one_key_with_ten_different_requests_pays_once_and_conflicts_nine_times(live_app):
    (owner,), agency = setup_wallets(live_app, 1, 100_000)
    barrier = threading.Barrier(10)
    shared_key = f"same-{uuid.uuid4().hex}"

    def attempt(n):
        barrier.wait()
        try:
            run(live_app, lambda w: w.pay(owner, [PaymentLeg(agency, 1_000 + n)], idempotency_key=shared_key))
        except IdempotencyConflict:
            return "conflict"
        return "paid"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(attempt, range(10)))

    assert sorted(outcomes) == ["conflict"] * 9 + ["paid"]
    payments = run(live_app, lambda w: w.statement(owner, kind="payment"))
    assert payments.total == 1
    assert run(live_app, lambda w: w.balance(owner)).posted_fen == 100_000 + payments.lines[0].amount_fen


def test_one_key_for_payments_and_top_ups_at_once_moves_money_once(live_app):
    # Payment keys may live on transfers and other keys in records: one key must still mean one request.
    (owner,), agency = setup_wallets(live_app, 1, 10_000)
    card = run(live_app, lambda w: w.link_card(owner, CARD).reference)
    barrier = threading.Barrier(10)
    shared_key = f"same-{uuid.uuid4().hex}"

    def attempt(n):
        barrier.wait()
        try:
            if n % 2:
                run(live_app, lambda w: w.top_up(owner, 1_000, card=card, idempotency_key=shared_key))
                return "top_up"
            run(live_app, lambda w: w.pay(owner, [PaymentLeg(agency, 1_000)], idempotency_key=shared_key))
            return "pay"
        except IdempotencyConflict:
            return "conflict"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(attempt, range(10)))

    done = {outcome for outcome in outcomes if outcome != "conflict"}
    assert len(done) == 1 and outcomes.count("conflict") == 5
    assert run(live_app, lambda w: w.balance(owner)).posted_fen == (9_000 if done == {"pay"} else 11_000)
    assert sum(key_holders(live_app, shared_key)) == 1


def key_holders(app, key: str) -> tuple[int, int]:
    """How many transfers and how many records hold an idempotency key."""
    with app.app_context(), app.extensions["portal.db"].engine.connect() as connection:
        transfers = connection.scalar(select(func.count()).where(Transfer.idempotency_key == key))
        records = connection.scalar(select(func.count()).where(IdempotencyRecord.key == key))
    return transfers, records


def test_soak_random_payments_and_refunds_keep_the_total_constant(live_app):
    owners, agency = setup_wallets(live_app, 20, 50_000)
    accounts_in_play = [*owners, agency]
    expected_total = 20 * 50_000
    stop_at = time.monotonic() + SOAK_SECONDS
    errors: list[BaseException] = []
    reads: list[tuple[int, int]] = []
    payments: list[str] = []
    lock = threading.Lock()

    def worker(seed):
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            try:
                with lock:
                    refundable = rng.choice(payments) if payments and rng.random() < 0.3 else None
                if refundable:
                    run(
                        live_app,
                        lambda w, ref=refundable: w.refund(
                            ref, rng.randint(1, 50), idempotency_key=uuid.uuid4().hex
                        ),
                    )
                else:
                    owner = rng.choice(owners)
                    result = run(
                        live_app,
                        lambda w, o=owner: w.pay(
                            o, [PaymentLeg(agency, rng.randint(1, 3_000))], idempotency_key=uuid.uuid4().hex
                        ),
                    )
                    with lock:
                        payments.append(result.reference)
            except WalletError as refusal:
                if refusal.code not in ("insufficient_funds", "refund_exceeds_payment"):
                    errors.append(refusal)
            except BaseException as error:  # anything else surfacing is a failure of the test
                errors.append(error)

    def reader():
        owner_refs = list(accounts_in_play)
        while time.monotonic() < stop_at:
            with live_app.app_context():
                database = live_app.extensions["portal.db"]
                with database.engine.connect() as connection:
                    # One statement is one snapshot on both backends.
                    total, lowest = connection.execute(
                        select(
                            func.sum(LedgerAccount.balance_fen), func.min(LedgerAccount.balance_fen)
                        ).where(
                            LedgerAccount.owner_ref.in_(owner_refs),
                            LedgerAccount.kind.in_(
                                [AccountKind.RESIDENT_WALLET, AccountKind.AGENCY_SETTLEMENT]
                            ),
                        )
                    ).one()
                    connection.rollback()
            reads.append((int(total), int(lowest)))
            time.sleep(0.01)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(16)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(payments) > 100
    assert reads and all(total == expected_total for total, _lowest in reads)
    assert all(lowest >= 0 for _total, lowest in reads)
    assert run(live_app, lambda w: ledger_violations(w.session)) == []


def test_postgres_refuses_an_unbalanced_transfer_at_commit(live_app, backend):
    if backend != "postgresql":
        pytest.skip("the deferred constraint trigger exists on PostgreSQL only; SQLite relies on the service")
    engine = live_app.extensions["portal.db"].engine
    with pytest.raises(Exception, match="does not balance"), engine.begin() as connection:
        account_id = connection.execute(
            text(
                "INSERT INTO ledger_accounts (kind, owner_ref, currency, balance_fen, held_fen, spent_day, "
                "spent_day_fen, tier, is_frozen, created_at) VALUES ('suspense', :owner, 'CNY', 0, 0, '', 0, "
                "'basic', false, now()) RETURNING id"
            ),
            {"owner": f"suspense:{uuid.uuid4().hex}"},
        ).scalar()
        transfer_id = connection.execute(
            text(
                "INSERT INTO ledger_transfers (reference, kind, amount_fen, description, actor, created_at) "
                "VALUES (:ref, 'adjustment', 5, '', 'test', now()) RETURNING id"
            ),
            {"ref": uuid.uuid4().hex[:20]},
        ).scalar()
        connection.execute(
            text(
                "INSERT INTO ledger_entries (transfer_id, account_id, amount_fen, balance_after_fen, "
                "created_at) VALUES (:t, :a, 5, 5, now())"
            ),
            {"t": transfer_id, "a": account_id},
        )


def test_entries_and_transfers_cannot_be_edited(live_app):
    (owner,), _agency = setup_wallets(live_app, 1, 1_000)
    engine = live_app.extensions["portal.db"].engine
    with pytest.raises(Exception, match="immutable"), engine.begin() as connection:
        connection.execute(text("UPDATE ledger_entries SET amount_fen = amount_fen + 1"))
    with pytest.raises(Exception, match="immutable"), engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_transfers"))
    assert run(live_app, lambda w: w.balance(owner)).posted_fen == 1_000


def test_one_hold_is_captured_or_released_once_under_a_race(live_app):
    (owner,), agency = setup_wallets(live_app, 1, 10_000)
    hold = run(live_app, lambda w: w.hold(owner, 6_000, idempotency_key=f"hold-{owner}"))
    barrier = threading.Barrier(6)

    def attempt(n):
        barrier.wait()
        try:
            if n % 2:
                run(live_app, lambda w: w.release(hold.reference, idempotency_key=f"release-{owner}-{n}"))
                return "released"
            run(
                live_app,
                lambda w: w.capture(
                    hold.reference, [PaymentLeg(agency, 5_000)], idempotency_key=f"capture-{owner}-{n}"
                ),
            )
            return "captured"
        except WalletError as error:
            return error.code

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))

    assert sum(outcome in ("captured", "released") for outcome in outcomes) == 1
    assert outcomes.count("hold_not_active") == 5
    balance = run(live_app, lambda w: w.balance(owner))
    assert balance.held_fen == 0
    assert balance.posted_fen in (10_000, 5_000)
    assert run(live_app, lambda w: ledger_violations(w.session)) == []
