"""The portal as gunicorn serves it, plus a bare TPC-B route: the anchor of bench/payments.py.

POST /bench/tpcb runs ONE pgbench TPC-B transaction (UPDATE pgbench_accounts, SELECT its balance,
UPDATE pgbench_tellers, UPDATE pgbench_branches, INSERT pgbench_history) in raw SQL over the app's own
engine and returns a bare string. It goes through the same WSGI stack, hooks and connection pool as the
portal's pages, so the ratio measures what the payment flow costs on top of a transaction of its own.
The tables are created by bench/payments.py in the benchmark's database before the server starts.
"""

import random

from sqlalchemy import text

from portal import create_app
from portal.extensions import csrf

app = create_app()
_engine = app.extensions["portal.db"].engine
_random = random.Random()

ACCOUNTS_PER_BRANCH = 100_000
TELLERS_PER_BRANCH = 10
_UPDATE_ACCOUNT = text("UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid")
_SELECT_ACCOUNT = text("SELECT abalance FROM pgbench_accounts WHERE aid = :aid")
_UPDATE_TELLER = text("UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid")
_UPDATE_BRANCH = text("UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid")
_INSERT_HISTORY = text(
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
    "VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP)"
)


@csrf.exempt
def bench_tpcb():
    aid = _random.randint(1, ACCOUNTS_PER_BRANCH)
    tid = _random.randint(1, TELLERS_PER_BRANCH)
    delta = _random.randint(-5000, 5000)
    with _engine.begin() as connection:
        connection.execute(_UPDATE_ACCOUNT, {"delta": delta, "aid": aid})
        connection.execute(_SELECT_ACCOUNT, {"aid": aid}).scalar_one()
        connection.execute(_UPDATE_TELLER, {"delta": delta, "tid": tid})
        connection.execute(_UPDATE_BRANCH, {"delta": delta, "bid": 1})
        connection.execute(_INSERT_HISTORY, {"tid": tid, "bid": 1, "aid": aid, "delta": delta})
    return "ok"


app.add_url_rule("/bench/tpcb", "bench_tpcb", bench_tpcb, methods=["POST"])
