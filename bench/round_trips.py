"""Database round trips of one payment confirmation, and of its review, counted statement by statement.

Issue 24 asks for at most 12 round trips per confirm. This counts what the portal sends to PostgreSQL
while the confirm request runs (and, apart, the review before it): every statement the engine executes,
plus the transaction's BEGIN and COMMIT (psycopg sends each as a round trip of its own), on a database
created for the run and dropped after it. The portal runs in this process through Flask's test client:
the same views, services, commit point and engine as under gunicorn, without the socket (which adds no
database round trip).

The statements are grouped by their first words and the table they touch, so the profile says where the
trips go. One warm-up payment runs first (the first request of a process fills caches: agency list,
compiled statements). Prints progress to stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, select  # noqa: E402

from bench.wallet import create_database, drop_database  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.accounts.models import User, VerificationTier  # noqa: E402
from portal.accounts.passwords import hash_password  # noqa: E402
from portal.agencies.models import Agency  # noqa: E402
from portal.authz import Role  # noqa: E402
from portal.bills.models import Bill  # noqa: E402
from portal.bills.selection import Selection  # noqa: E402
from portal.db import utcnow  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402
from portal.wallet.funding import GATEWAYS  # noqa: E402
from portal.wallet.owners import wallet_owner  # noqa: E402
from portal.wallet.services import WalletService  # noqa: E402

PHONE, PASSWORD = "13900009001", "bench round trips correct horse"
AGENCY, ACCOUNTS = "water", ("3300000001", "3300000002", "3300000003")
TARGET = 12
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
_QUOTE = re.compile(r'name="quote" value="([^"]+)"')
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?([a-z_]+)", re.I)


def log(message: str) -> None:
    print(f"[round_trips] {message}", file=sys.stderr, flush=True)


class Counting:
    """Statements the engine sends while switched on; BEGIN and COMMIT counted apart."""

    def __init__(self, engine) -> None:
        self.on = False
        self.statements: list[str] = []
        self.begins = self.commits = self.rollbacks = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", lambda _connection: self._count("begins"))
        event.listen(engine, "commit", lambda _connection: self._count("commits"))
        event.listen(engine, "rollback", lambda _connection: self._count("rollbacks"))

    def _statement(self, _connection, _cursor, statement, _parameters, _context, _many) -> None:
        if self.on:
            self.statements.append(" ".join(statement.split()))

    def _count(self, name: str) -> None:
        if self.on:
            setattr(self, name, getattr(self, name) + 1)

    def measure(self, work):
        self.on, self.statements = True, []
        self.begins = self.commits = self.rollbacks = 0
        try:
            result = work()
        finally:
            self.on = False
        return result, self.report()

    def report(self) -> dict:
        kinds = Counter(_kind(statement) for statement in self.statements)
        trips = len(self.statements) + self.begins + self.commits + self.rollbacks
        return {
            "round_trips": trips,
            "statements": len(self.statements),
            "begin": self.begins,
            "commit": self.commits,
            "rollback": self.rollbacks,
            "by_statement": dict(kinds.most_common()),
            "sequence": [_kind(statement) for statement in self.statements],
        }


def _kind(statement: str) -> str:
    verb = statement.split(" ", 1)[0].upper()
    tables = list(dict.fromkeys(_TABLE.findall(statement)))
    return f"{verb} {','.join(tables[:3])}".strip()


def prepare(url: str):
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        wallet = wallet_service(session)
        demo.seed(session, wallet)
        agency_id = session.scalar(select(Agency.id).where(Agency.code == AGENCY))
        session.execute(
            insert(Bill),
            [
                {
                    "agency_id": agency_id,
                    "bill_no": f"RT{n}",
                    "account_reference": account,
                    "payer_name": "张小三",
                    "description": "居民生活用水",
                    "period": "2026-11",
                    "amount_fen": 1_000 + n,
                    "late_fee_fen": 0,
                }
                for n, account in enumerate(ACCOUNTS)
            ],
        )
        # A resident of some standing, funded a month ago: an ordinary payment trips no risk rule (a new
        # account topping up and paying at once would be flagged, and its flag costs trips of its own).
        month_ago = utcnow() - timedelta(days=30)
        user = User(
            role=Role.RESIDENT,
            phone=PHONE,
            password_hash=hash_password(PASSWORD),
            real_name="张小三",
            verification_tier=VerificationTier.ID_AND_CARD,
            created_at=utcnow() - timedelta(days=400),
        )
        session.add(user)
        session.flush()  # the wallet is named by the user's id
        owner = wallet_owner(user)
        wallet = WalletService(
            session,
            limits=app.config["WALLET_LIMITS"],
            gateway=GATEWAYS["sandbox"](),
            clock=lambda: month_ago,
        )
        wallet.open_wallet(owner, user.verification_tier.value)
        card = wallet.link_card(owner, "6222020000000000018").reference
        wallet.top_up(owner, 1_000_000, card=card, idempotency_key="bench-round-trips")
    return app


def csrf(page: str) -> str:
    match = _CSRF.search(page)
    return match.group(1) or match.group(2)


def pay(app, client, counting: Counting, n: int) -> tuple[dict, dict]:
    with app.app_context():
        bill = Selection(AGENCY, (("account_reference", ACCOUNTS[n]),), f"RT{n}").token()
    token = csrf(client.get("/payments/").get_data(as_text=True))
    review, reviewed = counting.measure(
        lambda: client.post("/payments/review", data={"bill": [bill], "csrf_token": token})
    )
    assert review.status_code == 200, review.status_code
    html = review.get_data(as_text=True)
    quote = _QUOTE.search(html).group(1).replace("&#34;", '"').replace("&amp;", "&")
    confirm, confirmed = counting.measure(
        lambda: client.post("/payments/confirm", data={"quote": quote, "csrf_token": csrf(html)})
    )
    assert confirm.status_code == 302 and "/payments/P" in confirm.location, confirm.status_code
    return reviewed, confirmed


def main() -> None:
    name = f"bench_trips_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    try:
        app = prepare(url)
        counting = Counting(app.extensions["portal.db"].engine)
        client = app.test_client()
        page = client.get("/account/login").get_data(as_text=True)
        login = client.post(
            "/account/login", data={"identifier": PHONE, "password": PASSWORD, "csrf_token": csrf(page)}
        )
        assert login.status_code == 302, login.status_code
        pay(app, client, counting, 0)  # warm-up
        reviewed, confirmed = pay(app, client, counting, 1)
        log(f"review: {reviewed['round_trips']} round trips; confirm: {confirmed['round_trips']}")
        app.extensions["portal.db"].dispose()
    finally:
        drop_database(name)
    print(
        json.dumps(
            {
                "bench": "round_trips",
                "confirm": confirmed,
                "review": reviewed,
                "target_confirm_round_trips": TARGET,
                "met": confirmed["round_trips"] <= TARGET,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
