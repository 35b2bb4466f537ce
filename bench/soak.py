"""Soak and chaos run: the portal as a city runs it, under load and faults, then proof that nothing was
lost or done twice.

On a PostgreSQL cluster of its own (a throwaway `initdb` directory on a free port, so it may restart it):
two gunicorn app servers (2 workers each) on two loopback ports, two outbox workers, Redis for rate
limits (REDIS_URL, default database 7 of the local server, emptied at the start), and the sandbox
agency server with fault injection (SOAK_FAULTS, default error=0.1,hang=0.05,lost=0.05,malformed=0.05).
SOAK_RESIDENTS simulated residents (default 50), each with an HTTP session of its own, alternate between
the two servers: bill lookups (local water bills and sandbox traffic fines), single and two-bill
payments (review, then confirm), fines paid at the sandbox agency, top-ups, withdrawals and receipt
downloads. A request that died with its connection is sent again with the same form (the same
idempotency key, as a browser's resubmit). Meanwhile a chaos loop, every SOAK_CHAOS_SECONDS (default 4):
`kill -9` of a random gunicorn worker, of a whole app server (started again), of an outbox worker
(started again), `pg_terminate_backend` on the app's connections, and once, half way, a PostgreSQL
restart.

Afterwards (faults off, workers drained): the ledger and the audit chain verify; every payment a client
saw succeed is one payment with one ledger transfer; no bill is paid twice; the sandbox holds each
confirmation it should, once; the day's reconciliation lists no discrepancy; wallets plus agency and
budget accounts hold what the clients' top-ups and withdrawals say; no HTTP 500 outside a kill's window.
SOAK_SECONDS (default 120) sets the load's length. Progress on stderr; one JSON object on the last line.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from config import Config  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.accounts.models import User, VerificationTier  # noqa: E402
from portal.agencies.models import Agency  # noqa: E402
from portal.audit.services import chain_problems  # noqa: E402
from portal.authz import Role  # noqa: E402
from portal.bills.models import Bill  # noqa: E402
from portal.bills.selection import Selection  # noqa: E402
from portal.clock import business_day  # noqa: E402
from portal.db import utcnow  # noqa: E402
from portal.outbox import OutboxMessage, OutboxState  # noqa: E402
from portal.payments.models import ItemState, Payment, PaymentItem, Refund  # noqa: E402
from portal.reports.reconciliation import reconcile  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402
from portal.wallet.models import AccountKind, LedgerAccount, Transfer, TransferKind  # noqa: E402
from portal.wallet.owners import wallet_owner  # noqa: E402
from portal.wallet.verify import ledger_violations  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "120"))
RESIDENTS = int(os.environ.get("SOAK_RESIDENTS", "50"))
CHAOS_SECONDS = float(os.environ.get("SOAK_CHAOS_SECONDS", "4"))
FAULTS = os.environ.get("SOAK_FAULTS", "error=0.1,hang=0.05,lost=0.05,malformed=0.05")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")
PG_BIN = Path(os.environ.get("PG_BIN") or sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
BIN = Path(sys.executable).parent
CARD = "6222020000000000018"
PASSWORD = "soak run correct horse battery"  # noqa: S105 - throwaway residents' password
FUND_FEN = 5_000_000
BILLS_EACH = 400  # local water bills set aside per resident: more than it can pay in an hour
KILL_WINDOW = 5.0  # seconds after a kill in which a 500 or a dropped connection is the kill's doing
FIRST_ACCOUNT = 6_000_000_000
FINANCE_EMAIL, FINANCE_TOTP = "soak-finance@city.example.cn", pyotp.random_base32()
REFUND_SECONDS = 1.0  # the finance officer refunds a part of a paid bill about this often

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
_QUOTE = re.compile(r'name="quote" value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')
_CARD = re.compile(r'<option[^>]*value="([^"]+)"')
_ITEM_KEY = re.compile(r'name="item(\d+)-idempotency_key" type="hidden" value="([^"]+)"')
_RECEIPT = re.compile(r'href="(/payments/P[^"/]+/receipts/[^"]+\.pdf)"')


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the cluster of its own ---------------------------------------------------------------------------
class Cluster:
    """A PostgreSQL cluster in a throwaway directory, run as the postgres user, on a free port."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="portal-soak-pg-"))
        self.port = free_port()
        shutil.chown(self.directory, "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.directory / "data", "-A", "trust", "-U", "postgres")

    def _as_postgres(self, *command) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True)

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=300"
        data, logfile = self.directory / "data", self.directory / "server.log"
        self._as_postgres(PG_BIN / "pg_ctl", "-D", data, "-l", logfile, "-o", options, "-w", action, *extra)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


# -- processes ----------------------------------------------------------------------------------------
@dataclass
class Processes:
    env: dict
    ports: list[int]
    sandbox_port: int
    servers: list[subprocess.Popen | None] = field(default_factory=list)
    workers: list[subprocess.Popen | None] = field(default_factory=list)
    sandbox: subprocess.Popen | None = None
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="portal-soak-logs-")))

    def _start(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it until it exits
        return subprocess.Popen(command, cwd=ROOT, env=env or self.env, stdout=out, stderr=subprocess.STDOUT)

    def start_sandbox(self) -> None:
        command = [
            str(BIN / "flask"),
            "agencies",
            "sandbox",
            "--port",
            str(self.sandbox_port),
            "--faults",
            FAULTS,
        ]
        self.sandbox = self._start("sandbox", command)

    def start_server(self, index: int) -> None:
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.ports[index]}", "WEB_CONCURRENCY": "2"}
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "portal:create_app()"]
        process = self._start(f"server{index}", command, env)
        if index < len(self.servers):
            self.servers[index] = process
        else:
            self.servers.append(process)

    def start_worker(self, index: int) -> None:
        process = self._start(f"worker{index}", [str(BIN / "flask"), "outbox", "run"])
        if index < len(self.workers):
            self.workers[index] = process
        else:
            self.workers.append(process)

    def gunicorn_workers(self, index: int) -> list[int]:
        server = self.servers[index]
        if server is None:
            return []
        found = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)  # noqa: S607
        return [int(pid) for pid in found.stdout.split()]

    def stop_all(self) -> None:
        for process in [*self.servers, *self.workers, self.sandbox]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.servers, *self.workers, self.sandbox]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_until_up(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not answer /healthz in time")


# -- set-up ---------------------------------------------------------------------------------------------
def prepare(url: str) -> tuple[list[str], int]:
    """Migrate, seed the demo data, set aside bills and fund one resident per client. Returns the
    residents' phones and the money the ledger holds outside the bank (its starting total)."""
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    config = Config({})
    password_hash = PasswordHasher(
        time_cost=config.ARGON2_TIME_COST, memory_cost=config.ARGON2_MEMORY_COST_KIB
    ).hash(PASSWORD)
    phones = [f"1370000{n:04d}" for n in range(RESIDENTS)]
    with app.app_context(), database.write_transaction() as session:
        wallet = wallet_service(session)
        demo.seed(session, wallet)
        water = session.scalar(select(Agency.id).where(Agency.code == "water"))
        rows = [
            {
                "agency_id": water,
                "bill_no": f"SOAK{n:08d}",
                "account_reference": str(FIRST_ACCOUNT + n),
                "payer_name": "张小三",
                "description": "居民生活用水",
                "period": "2026-11",
                "amount_fen": 500 + n % 700,
                "late_fee_fen": 0,
            }
            for n in range(RESIDENTS * BILLS_EACH)
        ]
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Bill), rows[start : start + 10_000])
        for index, phone in enumerate(phones):
            user = User(
                role=Role.RESIDENT,
                phone=phone,
                password_hash=password_hash,
                real_name="张小三",
                verification_tier=VerificationTier.ID_AND_CARD,
            )
            session.add(user)
            session.flush()
            owner = wallet_owner(user)
            wallet.open_wallet(owner, user.verification_tier.value)
            card = wallet.link_card(owner, CARD).reference
            wallet.top_up(owner, FUND_FEN, card=card, idempotency_key=f"soak-fund-{index}")
        session.add(
            User(
                role=Role.FINANCE,
                email=FINANCE_EMAIL,
                password_hash=password_hash,
                real_name="陈静",
                totp_secret=FINANCE_TOTP,
                totp_enabled_at=utcnow(),
            )
        )
    with app.app_context(), database.sessionmaker() as session:
        start_total = outside_bank(session)
    database.dispose()
    return phones, start_total


def outside_bank(session) -> int:
    """Wallets, agencies, budgets and suspense: all money but the bank's side of the ledger."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerAccount.balance_fen), 0)).where(
            LedgerAccount.kind != AccountKind.FUNDING_CLEARING
        )
    )
    return int(total)


# -- residents ------------------------------------------------------------------------------------------
@dataclass
class Tally:
    """What every client saw, shared by the resident threads (under the lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    operations: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    kills: list[float] = field(default_factory=list)
    paid: dict[str, list[str]] = field(default_factory=dict)  # payment reference -> bill ids
    moved_fen: int = 0  # top-ups minus withdrawals the clients saw done
    unknown: int = 0  # a request never answered however often it was sent again
    refunds: set[str] = field(default_factory=set)  # idempotency keys of refunds finance saw done

    def count(self, kind: str) -> None:
        with self.lock:
            self.operations[kind] += 1

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1

    def near_a_kill(self) -> bool:
        now = time.monotonic()
        with self.lock:
            return any(0 <= now - moment <= KILL_WINDOW for moment in self.kills)


class Resident:
    def __init__(self, index: int, phone: str, bases: list[str], tally: Tally, sealer) -> None:
        self.index, self.phone, self.bases, self.tally, self.sealer = index, phone, bases, tally, sealer
        self.accounts = iter(
            range(FIRST_ACCOUNT + index * BILLS_EACH, FIRST_ACCOUNT + (index + 1) * BILLS_EACH)
        )
        self.random = random.Random(index)
        self.cookies = httpx.Cookies()
        self.receipts: list[str] = []
        self.fines = iter(range(index * 10_000, (index + 1) * 10_000))

    def send(self, method: str, path: str, data: dict | None = None) -> httpx.Response:
        """One request, sent again with the same form while the connection dies (a kill), up to 60 s;
        the base alternates, as a load balancer would send a retry elsewhere."""
        deadline = time.monotonic() + 60
        attempt = 0
        while True:
            base = self.bases[(self.index + attempt) % len(self.bases)]
            try:
                with httpx.Client(base_url=base, cookies=self.cookies, timeout=20) as client:
                    response = client.request(method, path, data=data)
                    self.cookies.update(client.cookies)
            except httpx.HTTPError:
                self.tally.error("connection (kill)" if self.tally.near_a_kill() else "connection")
                attempt += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            if response.status_code >= 500 and response.status_code != 503:
                near = self.tally.near_a_kill()
                self.tally.error(f"http {response.status_code}" + (" (kill)" if near else ""))
                attempt += 1
                if time.monotonic() > deadline:
                    return response
                time.sleep(0.5)
                continue
            if response.status_code == 503:
                self.tally.error("http 503 (database away)")
                attempt += 1
                if time.monotonic() > deadline:
                    return response
                time.sleep(1)
                continue
            return response

    def csrf(self, page: str) -> str:
        match = _CSRF.search(page)
        return (match.group(1) or match.group(2)) if match else ""

    def login(self) -> None:
        if self.phone == FINANCE_EMAIL:
            return self.staff_login()
        page = self.send("GET", "/account/login").text
        response = self.send(
            "POST",
            "/account/login",
            {"identifier": self.phone, "password": PASSWORD, "csrf_token": self.csrf(page)},
        )
        if response.status_code != 302:
            raise RuntimeError(f"login of {self.phone} failed: {response.status_code}")

    def staff_login(self) -> None:
        page = self.send("GET", "/account/login").text
        form = {"identifier": FINANCE_EMAIL, "password": PASSWORD, "csrf_token": self.csrf(page)}
        step = self.send("POST", "/account/login", form)
        if step.headers.get("location", "") != "/account/two-factor":
            raise RuntimeError(f"staff login: {step.status_code} {step.headers.get('location')}")
        page = self.send("GET", "/account/two-factor").text
        code = {"code": pyotp.TOTP(FINANCE_TOTP).now(), "csrf_token": self.csrf(page)}
        if self.send("POST", "/account/two-factor", code).status_code != 302:
            raise RuntimeError("staff login: the two-factor code was refused")

    def refund_loop(self, stop_at: float) -> None:
        """The finance officer: refunds ¥1 of a random paid bill now and then, resending on a kill."""
        self.staff_login()
        while time.monotonic() < stop_at:
            time.sleep(REFUND_SECONDS)
            with self.tally.lock:
                choices = list(self.tally.paid)
            if not choices:
                continue
            try:
                self.refund(self.random.choice(choices))
            except (httpx.HTTPError, RuntimeError) as error:
                with self.tally.lock:
                    self.tally.unknown += 1
                log(f"finance: refund gave up: {type(error).__name__}: {error}")

    def refund(self, reference: str) -> None:
        page = self.send("GET", f"/operations/payments/{reference}")
        keys = _ITEM_KEY.findall(page.text)
        if page.status_code != 200 or not keys:
            self.tally.count("refund form unavailable")
            return
        item, key = self.random.choice(keys)
        form = {
            f"item{item}-amount": "1.00",
            f"item{item}-reason": "soak: paid twice",
            f"item{item}-idempotency_key": html_lib.unescape(key),
            f"item{item}-csrf_token": self.csrf(page.text),
        }
        response = self.send("POST", f"/operations/payments/{reference}/items/{item}/refund", form)
        if response.status_code == 302:
            with self.tally.lock:
                self.tally.refunds.add(key)
            self.tally.count("refund")
        else:
            self.tally.count(f"refund refused {response.status_code}")

    def run(self, stop_at: float) -> None:
        self.login()
        self.send("GET", "/language/en")
        actions = [
            (self.lookup, 3),
            (self.pay_water, 4),
            (self.pay_two, 2),
            (self.pay_fine, 2),
            (self.top_up, 1),
            (self.withdraw, 1),
            (self.download, 2),
        ]
        choices = [action for action, weight in actions for _ in range(weight)]
        while time.monotonic() < stop_at:
            action = self.random.choice(choices)
            try:
                action()
            except (httpx.HTTPError, RuntimeError, StopIteration) as error:
                with self.tally.lock:
                    self.tally.unknown += 1
                log(f"resident {self.index}: {action.__name__} gave up: {type(error).__name__}: {error}")

    def lookup(self) -> None:
        account = FIRST_ACCOUNT + self.index * BILLS_EACH + self.random.randrange(BILLS_EACH)
        response = self.send("GET", f"/bills/water?account_reference={account}")
        self.tally.count("lookup" if response.status_code == 200 else f"lookup {response.status_code}")

    def _token(self, agency: str, query: tuple, bill_id: str) -> str:
        with self.sealer.app_context():
            return Selection(agency, query, bill_id).token()

    def _pay(self, kind: str, bills: list[tuple[str, tuple, str]]) -> None:
        page = self.send("GET", "/payments/").text
        tokens = [self._token(*bill) for bill in bills]
        review = self.send("POST", "/payments/review", {"bill": tokens, "csrf_token": self.csrf(page)})
        quote = _QUOTE.search(review.text)
        if review.status_code != 200 or quote is None:
            self.tally.count(f"{kind} refused at review")  # e.g. the sandbox agency failed: a message
            return
        form = {"quote": html_lib.unescape(quote.group(1)), "csrf_token": self.csrf(review.text)}
        confirm = self.send("POST", "/payments/confirm", form)
        location = confirm.headers.get("location", "")
        if confirm.status_code == 302 and "/payments/P" in location:
            reference = location.rsplit("/payments/", 1)[1].split("?")[0].strip("/")
            with self.tally.lock:
                self.tally.paid.setdefault(reference, [bill for _, _, bill in bills])
            self.receipts.append(reference)
            self.tally.count(kind)
        else:
            self.tally.count(f"{kind} refused at confirm")

    def pay_water(self) -> None:
        account = str(next(self.accounts))
        bill = f"SOAK{int(account) - FIRST_ACCOUNT:08d}"
        self._pay("payment", [("water", (("account_reference", account),), bill)])

    def pay_two(self) -> None:
        bills = []
        for _ in range(2):
            account = str(next(self.accounts))
            bills.append(
                ("water", (("account_reference", account),), f"SOAK{int(account) - FIRST_ACCOUNT:08d}")
            )
        self._pay("two-bill payment", bills)

    def pay_fine(self) -> None:
        notice = f"5999{next(self.fines):012d}"
        plate = f"渝S{self.index:05d}"
        self._pay("fine payment", [("traffic", (("plate", plate), ("notice_no", notice)), notice)])

    def _move(self, path: str, amount: int, kind: str) -> None:
        page = self.send("GET", path)
        key, card = _KEY.search(page.text), _CARD.search(page.text)
        if page.status_code != 200 or key is None or card is None:
            self.tally.count(f"{kind} form unavailable")
            return
        form = {
            "amount": f"{amount / 100:.2f}",
            "card": card.group(1),
            "idempotency_key": key.group(1),
            "csrf_token": self.csrf(page.text),
        }
        response = self.send("POST", path, form)
        if response.status_code == 302:
            with self.tally.lock:
                self.tally.moved_fen += amount if kind == "top-up" else -amount
            self.tally.count(kind)
        else:
            self.tally.count(f"{kind} refused")

    def top_up(self) -> None:
        self._move("/wallet/top-up", 100 * self.random.randint(1, 50), "top-up")

    def withdraw(self) -> None:
        self._move("/wallet/withdraw", 100 * self.random.randint(1, 20), "withdrawal")

    def download(self) -> None:
        if not self.receipts:
            return self.lookup()
        reference = self.random.choice(self.receipts)
        page = self.send("GET", f"/payments/{reference}")
        link = _RECEIPT.search(page.text)
        if link is None:
            self.tally.count("receipt link missing")
            return None
        response = self.send("GET", html_lib.unescape(link.group(1)))
        ok = response.status_code == 200 and response.content.startswith(b"%PDF")
        self.tally.count("receipt download" if ok else f"receipt {response.status_code}")
        return None


# -- chaos ----------------------------------------------------------------------------------------------
def chaos(processes: Processes, cluster: Cluster, tally: Tally, stop_at: float, faults: Counter) -> None:
    chance = random.Random(7)
    restarted_postgres = False
    half_way = time.monotonic() + (stop_at - time.monotonic()) / 2
    while time.monotonic() + CHAOS_SECONDS < stop_at:
        time.sleep(CHAOS_SECONDS)
        with tally.lock:
            tally.kills.append(time.monotonic())
        if not restarted_postgres and time.monotonic() >= half_way:
            restarted_postgres = True
            log("chaos: PostgreSQL restart")
            cluster.pg_ctl("restart", "-m", "fast")
            faults["postgres restart"] += 1
            continue
        kind = chance.choice(
            ["gunicorn worker", "gunicorn worker", "app server", "outbox worker", "backends"]
        )
        if kind == "gunicorn worker":
            pids = processes.gunicorn_workers(chance.randrange(len(processes.servers)))
            if pids:
                os.kill(chance.choice(pids), signal.SIGKILL)  # the master starts another
        elif kind == "app server":
            index = chance.randrange(len(processes.servers))
            server = processes.servers[index]
            for pid in processes.gunicorn_workers(index):
                os.kill(pid, signal.SIGKILL)
            server.kill()
            server.wait()
            processes.start_server(index)
        elif kind == "outbox worker":
            index = chance.randrange(len(processes.workers))
            processes.workers[index].kill()
            processes.workers[index].wait()
            processes.start_worker(index)
        else:
            with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = 'soak' AND pid <> pg_backend_pid()"
                )
        faults[f"kill {kind}" if kind != "backends" else "pg_terminate_backend"] += 1
        log(f"chaos: {kind}")


# -- afterwards -----------------------------------------------------------------------------------------
def drain(url: str, sandbox: str, seconds: float) -> int:
    """Faults off, every waiting message due now; wait until the workers delivered them all (a long run
    leaves a backlog: receipts render at a few a second on two cores)."""
    httpx.put(sandbox + "/v1/faults", content="", timeout=5)
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    deadline = time.monotonic() + seconds
    pending = -1
    with app.app_context():
        while time.monotonic() < deadline:
            with database.write_transaction() as session:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.state == OutboxState.PENDING)
                    .values(next_attempt_at=utcnow() - timedelta(seconds=1))
                )
            with database.sessionmaker() as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state == OutboxState.PENDING)
                )
            if not pending:
                break
            time.sleep(2)
    database.dispose()
    return pending


def prove(url: str, sandbox: str, tally: Tally, start_total: int) -> dict:
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    records = httpx.get(sandbox + "/v1/records", timeout=10).json()
    with app.app_context(), database.sessionmaker() as session:
        ledger = ledger_violations(session)
        audit = list(chain_problems(session))
        payments = {p.reference: p for p in session.scalars(select(Payment))}
        items = list(session.scalars(select(PaymentItem)))
        lost = [reference for reference in tally.paid if reference not in payments]
        no_transfer = [
            reference
            for reference in tally.paid
            if reference in payments
            and session.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.reference == payments[reference].transfer_reference)
            )
            != 1
        ]
        settled = Counter(
            (item.agency_id, item.bill_id)
            for item in items
            if item.state not in (ItemState.REJECTED, ItemState.REFUNDED)
        )
        paid_twice = [bill for bill, count in settled.items() if count > 1]
        traffic = session.scalar(select(Agency.id).where(Agency.code == "traffic"))
        confirmed_here = {
            f"{item.payment.reference}-{item.id}"
            for item in items
            if item.agency_id == traffic and item.state is ItemState.CONFIRMED
        }
        at_agency = set(records["confirmed"])
        refunds = session.scalar(select(func.count()).select_from(Refund))
        refund_transfers = session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == TransferKind.REFUND)
        )
        today = business_day(utcnow())
        discrepancies = reconcile(session, today, today).discrepancies
        total = outside_bank(session)
    database.dispose()
    money_ok = total == start_total + tally.moved_fen
    return {
        "ledger_violations": ledger[:5],
        "audit_problems": [str(problem) for problem in audit[:5]],
        "payments_seen_by_clients": len(tally.paid),
        "payments_in_database": len(payments),
        "lost": len(lost) + len(no_transfer),
        "lost_examples": (lost + no_transfer)[:5],
        "duplicated": len(paid_twice),
        "duplicated_examples": [str(bill) for bill in paid_twice[:5]],
        "agency_confirmations_missing": len(confirmed_here - at_agency),
        "agency_confirmations_unknown_here": len(at_agency - confirmed_here),
        "agency_confirmations_sent_more_than_once": sum(1 for n in records["received"].values() if n > 1),
        "agency_faults_injected": records["faults"],
        "refunds_seen_by_finance": len(tally.refunds),
        "refunds_in_database": refunds,
        "refund_transfers": refund_transfers,
        "refunds_once": refunds == len(tally.refunds) == refund_transfers,
        "reconciliation_discrepancies": len(discrepancies),
        "money_outside_bank_fen": total,
        "money_expected_fen": start_total + tally.moved_fen,
        "money_balanced": money_ok,
        "verify_clean": not ledger
        and not audit
        and money_ok
        and not discrepancies
        and refunds == len(tally.refunds) == refund_transfers,
    }


def main() -> dict:
    cluster = Cluster()
    cluster.pg_ctl("start")
    log(f"cluster of its own on port {cluster.port}")
    processes = None
    try:
        with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE soak")
        url = cluster.url("soak")
        phones, start_total = prepare(url)
        log(f"migrated and seeded: {RESIDENTS} residents, {RESIDENTS * BILLS_EACH} bills")
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        ports, sandbox_port = [free_port(), free_port()], free_port()
        env = {
            **os.environ,
            "FLASK_APP": "portal",
            "DATABASE_URL": url,
            "DATABASE_POOL_PRE_PING": "true",
            "REDIS_URL": REDIS_URL,
            "SANDBOX_AGENCY_URL": f"http://127.0.0.1:{sandbox_port}",
            "PORTAL_BASE_URL": f"http://127.0.0.1:{ports[0]}",
            "OUTBOX_POLL_SECONDS": "1",
            "OUTBOX_BACKOFF_BASE_SECONDS": "1",
            "OUTBOX_LEASE_SECONDS": "15",  # a killed worker's messages come back soon (handlers take < 10 s)
            "WORKER_HEARTBEAT_SECONDS": "2",
            # every simulated resident comes from 127.0.0.1: limits per address would refuse them all
            "RATELIMIT_LOGIN": "100000 per minute",
            "RATELIMIT_LOOKUP": "100000 per minute",
            "RATELIMIT_PAYMENT": "100000 per minute",
            "GUNICORN_ACCESS_LOG": "",
        }
        processes = Processes(env, ports, sandbox_port)
        processes.start_sandbox()
        for index in range(2):
            processes.start_server(index)
            processes.start_worker(index)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            wait_until_up(base)
        log(f"up: servers {ports}, sandbox {sandbox_port}, postgres {cluster.port}, logs in {processes.logs}")
        sealer = create_app({"DATABASE_URL": url})
        tally, faults = Tally(), Counter()
        started = time.monotonic()
        stop_at = started + SECONDS
        residents = [Resident(n, phone, bases, tally, sealer) for n, phone in enumerate(phones)]
        threads = [threading.Thread(target=r.run, args=(stop_at,), daemon=True) for r in residents]
        finance = Resident(RESIDENTS, FINANCE_EMAIL, bases, tally, sealer)
        threads.append(threading.Thread(target=finance.refund_loop, args=(stop_at,), daemon=True))
        for thread in threads:
            thread.start()
        chaos(processes, cluster, tally, stop_at, faults)
        for thread in threads:
            thread.join(timeout=120)
        seconds = time.monotonic() - started
        log(f"load over after {seconds:.0f} s; draining the outbox")
        drain_started = time.monotonic()
        pending = drain(url, f"http://127.0.0.1:{sandbox_port}", max(180.0, SECONDS))
        drain_seconds = time.monotonic() - drain_started
        log(f"drained ({pending} left); checking")
        proof = prove(url, f"http://127.0.0.1:{sandbox_port}", tally, start_total)
        sealer.extensions["portal.db"].dispose()
        operations = sum(tally.operations.values())
        errors_outside_kills = sum(
            n
            for kind, n in tally.errors.items()
            if kind.startswith("http 5") and kind[5:8] != "503" and "(kill)" not in kind
        )
        return {
            "seconds": round(seconds, 1),
            "residents": RESIDENTS,
            "operations": operations,
            "ops_per_s": round(operations / seconds, 1),
            "by_operation": dict(tally.operations),
            "faults": {
                **dict(faults),
                **{f"agency {k}": v for k, v in proof.pop("agency_faults_injected").items()},
            },
            "kills": sum(n for kind, n in faults.items() if kind.startswith("kill")),
            "errors": dict(tally.errors),
            "http_500_outside_kills": errors_outside_kills,
            "gave_up": tally.unknown,
            "outbox_pending_after_drain": pending,
            "drain_seconds": round(drain_seconds, 1),
            **proof,
        }
    finally:
        if processes is not None:
            processes.stop_all()
        cluster.remove()


if __name__ == "__main__":
    result = main()
    print(json.dumps(result, ensure_ascii=False))
    ok = result["lost"] == 0 and result["duplicated"] == 0 and result["verify_clean"]
    sys.exit(0 if ok else 1)
