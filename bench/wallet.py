"""Wallet payments per second on PostgreSQL against the same machine's TPC-B rate, in ONE run.

- payments: 4 concurrent clients call WalletService.pay() (each call its own transaction, as a request
  would), paying from 200 funded wallets to one agency account (a hot row, like TPC-B's branch).
- anchor: pgbench's TPC-B transaction (3 UPDATEs, 1 SELECT, 1 INSERT) in raw SQL over psycopg, 4
  clients, scale 1 (one branch row), in a database of its own on the same server.
Prints one JSON object as its last line, with "ratio" = payments/s divided by TPC-B transactions/s.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from portal import create_app, migrate  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402
from portal.wallet.types import PaymentLeg  # noqa: E402
from tests.conftest import make_config  # noqa: E402

SERVER_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
DURATION = float(os.environ.get("BENCH_DURATION", "30"))  # seconds for each side, over all rounds
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
WALLETS = 200
CARD = "6222020000000000018"


def create_database(name: str) -> str:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def timed(clients: int, duration: float, make_worker) -> tuple[int, float, int]:
    """Run `clients` processes (like gunicorn workers: no shared GIL) for `duration` seconds;
    each worker returns (done, errors)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.monotonic() + 1.0  # every process starts together
    stop_at = start_at + duration

    def runner(index: int) -> None:
        worker = make_worker(index)
        while time.monotonic() < start_at:
            time.sleep(0.001)
        queue.put(worker(stop_at))

    processes = [context.Process(target=runner, args=(index,)) for index in range(clients)]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return sum(done for done, _errors in results), duration, sum(errors for _done, errors in results)


def wallet_payments(url: str):
    """Set up 200 funded wallets and one agency; return (make_worker, close)."""
    migrate.upgrade(url)
    limits = {"per_payment_fen": 10**9, "per_day_fen": 10**12, "max_balance_fen": 10**12}
    app = create_app(
        make_config(url, WALLET_LIMITS={"basic": limits, "id_verified": limits, "id_and_card": limits})
    )
    database = app.extensions["portal.db"]
    owners = [f"user:bench-{n}" for n in range(WALLETS)]
    with app.app_context(), database.write_transaction() as session:
        wallet = wallet_service(session)
        wallet.open_agency_account("bench-water")
        for owner in owners:
            wallet.open_wallet(owner, "id_and_card")
            card = wallet.link_card(owner, CARD).reference
            wallet.top_up(owner, 10**10, card=card, idempotency_key=f"fund-{owner}")

    def make_worker(index: int):
        rng = random.Random(index)

        def work(stop_at: float) -> tuple[int, int]:
            done = errors = 0
            database.engine.dispose(close=False)  # a forked process opens connections of its own
            # Like the TPC-B clients, each client keeps one connection; each payment is its own transaction.
            with app.app_context(), database.engine.connect() as connection:
                session = database.sessionmaker(bind=connection)
                wallet = wallet_service(session)
                while time.monotonic() < stop_at:
                    try:
                        with session.begin():
                            wallet.pay(
                                rng.choice(owners),
                                [PaymentLeg("agency:bench-water", rng.randint(1, 10_000))],
                                idempotency_key=uuid.uuid4().hex,
                            )
                        done += 1
                    except Exception:  # counted, not hidden: the JSON reports errors
                        errors += 1
            return done, errors

        return work

    return make_worker, database.dispose


TPCB_SETUP = [
    "CREATE TABLE branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88))",
    "CREATE TABLE tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84))",
    "CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))",
    "CREATE TABLE history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
    "INSERT INTO branches SELECT 1, 0, ''",
    "INSERT INTO tellers SELECT g, 1, 0, '' FROM generate_series(1, 10) g",
    "INSERT INTO accounts SELECT g, 1, 0, '' FROM generate_series(1, 100000) g",
    "VACUUM ANALYZE",
]


def tpcb(url: str):
    """Create pgbench's tables at scale 1; return (make_worker, close)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        for statement in TPCB_SETUP:
            connection.execute(statement)

    def make_worker(index: int):
        rng = random.Random(1000 + index)

        def work(stop_at: float) -> tuple[int, int]:
            done = errors = 0
            with psycopg.connect(dsn) as connection:
                while time.monotonic() < stop_at:
                    aid, tid, delta = rng.randint(1, 100000), rng.randint(1, 10), rng.randint(-5000, 5000)
                    try:
                        with connection.transaction():
                            connection.execute(
                                "UPDATE accounts SET abalance = abalance + %s WHERE aid = %s", (delta, aid)
                            )
                            connection.execute(
                                "SELECT abalance FROM accounts WHERE aid = %s", (aid,)
                            ).fetchone()
                            connection.execute(
                                "UPDATE tellers SET tbalance = tbalance + %s WHERE tid = %s", (delta, tid)
                            )
                            connection.execute(
                                "UPDATE branches SET bbalance = bbalance + %s WHERE bid = 1", (delta,)
                            )
                            connection.execute(
                                "INSERT INTO history (tid, bid, aid, delta, mtime) "
                                "VALUES (%s, 1, %s, %s, CURRENT_TIMESTAMP)",
                                (tid, aid, delta),
                            )
                        done += 1
                    except psycopg.Error:
                        errors += 1
            return done, errors

        return work

    return make_worker, lambda: None


def rate(done: int, seconds: float, errors: int) -> dict:
    return {
        "count": done,
        "errors": errors,
        "seconds": round(seconds, 2),
        "per_second": round(done / seconds, 1),
    }


def main() -> None:
    tag = uuid.uuid4().hex[:8]
    wallet_db, tpcb_db = f"portal_bench_{tag}", f"portal_tpcb_{tag}"
    totals = {"wallet": [0, 0.0, 0], "tpcb": [0, 0.0, 0]}
    try:
        wallet_worker, close_wallet = wallet_payments(create_database(wallet_db))
        tpcb_worker, _ = tpcb(create_database(tpcb_db))
        # Alternate short rounds, so noise from other processes on the machine falls on both sides.
        for _round in range(ROUNDS):
            for name, worker in (("wallet", wallet_worker), ("tpcb", tpcb_worker)):
                done, seconds, errors = timed(CLIENTS, DURATION / ROUNDS, worker)
                print(f"round {_round} {name}: {done / seconds:.0f}/s", file=sys.stderr)
                totals[name][0] += done
                totals[name][1] += seconds
                totals[name][2] += errors
        close_wallet()
    finally:
        drop_database(wallet_db)
        drop_database(tpcb_db)
    payments, anchor = rate(*totals["wallet"]), rate(*totals["tpcb"])
    result = {
        "benchmark": "wallet_payments_vs_tpcb",
        "backend": "postgresql",
        "clients": CLIENTS,
        "duration_s_each": DURATION,
        "rounds": ROUNDS,
        "cpu_count": os.cpu_count(),
        "wallet_payments": payments,
        "tpcb_transactions": anchor,
        "ratio": round(payments["per_second"] / anchor["per_second"], 3),
        "target_ratio": 0.5,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
