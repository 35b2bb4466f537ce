"""End-to-end HTTP bill payments per second against the same server's bare TPC-B route, and receipt PDFs.

ONE run on PostgreSQL (a database created for the run and dropped at the end), served by gunicorn with
2 sync workers on loopback (bench/payments_app.py: the portal plus POST /bench/tpcb):

(a) payments: CLIENTS client processes, each a logged-in, ID-verified resident with a linked card and a
    funded wallet of its own, pay bills the way a browser does once the bill is ticked: POST
    /payments/review with the bill's checkbox value (a local-adapter water bill of its own, never paid
    before) and the CSRF token, then POST /payments/confirm with the signed quote (review + confirm, as
    the issue defines a payment; the lookup page is bench/lookup.py's subject). A payment
    counts only when confirm answers 302 to /payments/P...; anything else is an error, and the first
    few are printed to stderr with an excerpt of the page. Anchor: the same number of client processes
    POST /bench/tpcb (one pgbench TPC-B transaction in raw SQL over the app's engine) on the same
    server. The two sides alternate in ROUNDS short rounds so the machine's noise falls on both.
    "ratio" = payments/s divided by anchor requests/s. Each round also times each request alone: the
    same clients POST /payments/review for bills of slots of their own (keeping every quote), then
    POST /payments/confirm with those quotes; "review_ratio" and "confirm_ratio" are those requests/s
    divided by the anchor's (issue 24: confirm at least 0.4, the whole payment at least 0.25).
(b) receipt PDF: in this process, the median time of the portal's path for a stored payment's receipt
    (receipt_facts -> receipt_html -> render_pdf) against WeasyPrint rendering the same HTML string
    bare (HTML(string=html).write_pdf()); "render_overhead" = portal / bare. Then, over HTTP on the
    same server, the first download of the receipt (which renders and stores it) and the median and
    p95 of repeated downloads of the stored PDF.

Bounded in time: BENCH_DURATION seconds per side (default 10) split over BENCH_ROUNDS rounds (default
5), plus a short warm-up, set-up and the PDF part; well under 5 minutes. Progress goes to stderr, one
JSON object to stdout as the last line.
"""

from __future__ import annotations

import html as html_lib
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from weasyprint import HTML  # noqa: E402

from bench.wallet import create_database, drop_database  # noqa: E402
from config import Config  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.accounts.models import User, VerificationTier  # noqa: E402
from portal.agencies.models import Agency  # noqa: E402
from portal.authz import Role  # noqa: E402
from portal.bills.models import Bill  # noqa: E402
from portal.bills.selection import Selection  # noqa: E402
from portal.payments.models import Payment  # noqa: E402
from portal.receipts.models import Receipt  # noqa: E402
from portal.receipts.pdf import StaticFilesOnly, receipt_html, render_pdf  # noqa: E402
from portal.receipts.rendering import verify_url  # noqa: E402
from portal.receipts.services import receipt_facts  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402
from portal.wallet.owners import wallet_owner  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
DURATION = float(os.environ.get("BENCH_DURATION", "10"))  # seconds for each side, over all rounds
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WARM_UP = 1.0  # seconds per side before the counted rounds (not counted)
RENDERS = int(os.environ.get("BENCH_RENDERS", "20"))
DOWNLOADS = int(os.environ.get("BENCH_DOWNLOADS", "100"))
WORKERS = 2
BIN = Path(sys.executable).parent
CARD = "6222020000000000018"  # the sandbox gateway's test card
PASSWORD = "bench payments correct horse"  # noqa: S105 - a throwaway resident's password
FUND_FEN = 40_000_000  # 400,000 yuan: under the id_and_card balance limit (500,000 yuan)
FIRST_ACCOUNT = 4_000_000_000
AGENCY = "water"  # a local-adapter agency of the demo data (DEFAULT_AGENCY_ADAPTERS)
TPCB_ACCOUNTS, TPCB_TELLERS = 100_000, 10  # scale 1, as bench/payments_app.py expects
ERRORS_SHOWN = 3  # failures printed to stderr per client and round
# Issue 24's anchors: the whole payment at least 0.25 of the TPC-B route, the confirm alone at least 0.4.
TARGETS = {
    "ratio": 0.25,
    "confirm_ratio": 0.4,
    "render_overhead": 1.2,
    "download_median_ms": 5.0,
    "download_p95_ms": 5.0,
}

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
_QUOTE = re.compile(r'name="quote" value="([^"]+)"')
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)

TPCB_SETUP = [
    "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88))",
    "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, "
    "filler char(84))",
    "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, "
    "filler char(84))",
    "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
    "INSERT INTO pgbench_branches SELECT 1, 0, ''",
    f"INSERT INTO pgbench_tellers SELECT g, 1, 0, '' FROM generate_series(1, {TPCB_TELLERS}) g",  # noqa: S608
    f"INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, {TPCB_ACCOUNTS}) g",  # noqa: S608
]


def log(message: str) -> None:
    print(f"[payments] {message}", file=sys.stderr, flush=True)


def accounts_per_slot() -> int:
    """Household accounts set aside for one client in one round: far more than it can pay."""
    return max(500, int(max(DURATION / ROUNDS, WARM_UP) * 250))


def account_range(round_index: int, client: int) -> tuple[int, int]:
    """Round 0 is the warm-up. No two (round, client) slots share an account, so no bill is paid twice."""
    size = accounts_per_slot()
    first = FIRST_ACCOUNT + (round_index * CLIENTS + client) * size
    return first, first + size


# -- set-up ---------------------------------------------------------------------------------------------
_SEALING_APP = None  # set by prepare(); holds the same configuration (keys) as the server under test


def prepare(url: str) -> list[str]:
    """Migrate, seed the demo data, load one bill per household account for every slot, create and fund
    one resident per client; create pgbench's tables. Returns the residents' login phone numbers."""
    global _SEALING_APP
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    _SEALING_APP = app  # the client processes (forked) seal checkbox values with its keys
    database = app.extensions["portal.db"]
    config = Config({})  # the same argon2 cost the server verifies with: no rehash at login
    password_hash = PasswordHasher(
        time_cost=config.ARGON2_TIME_COST, memory_cost=config.ARGON2_MEMORY_COST_KIB
    ).hash(PASSWORD)
    bills = (2 * ROUNDS + 1) * CLIENTS * accounts_per_slot()  # the rounds' payments, then their reviews
    phones = [f"1390000{n:04d}" for n in range(CLIENTS)]
    with app.app_context(), database.write_transaction() as session:
        wallet = wallet_service(session)
        demo.seed(session, wallet)
        agency_id = session.scalar(select(Agency.id).where(Agency.code == AGENCY))
        for start in range(0, bills, 10_000):
            session.execute(
                insert(Bill),
                [
                    {
                        "agency_id": agency_id,
                        "bill_no": bill_number(str(FIRST_ACCOUNT + n)),
                        "account_reference": str(FIRST_ACCOUNT + n),
                        "payer_name": "张小三",
                        "description": "居民生活用水",
                        "period": "2026-11",
                        "amount_fen": 1_000 + n % 1_000,
                        "late_fee_fen": 0,
                    }
                    for n in range(start, min(start + 10_000, bills))
                ],
            )
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
            wallet.top_up(owner, FUND_FEN, card=card, idempotency_key=f"bench-fund-{index}")
    database.dispose()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        for statement in TPCB_SETUP:
            connection.execute(statement)
        connection.execute("VACUUM ANALYZE")
    log(f"loaded {bills} bills, {CLIENTS} funded residents, pgbench tables at scale 1")
    return phones


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


# -- HTTP helpers -----------------------------------------------------------------------------------------
def csrf_token(page: str) -> str | None:
    match = _CSRF.search(page)
    return (match.group(1) or match.group(2)) if match else None


def excerpt(response: httpx.Response, size: int = 400) -> str:
    """What the page says, without markup: enough to see why a step failed."""
    body = response.text
    start = body.find("<main")
    text = _TAGS.sub(" ", body[start if start >= 0 else 0 :])
    return " ".join(html_lib.unescape(text).split())[:size]


def login(base: str, phone: str) -> httpx.Cookies:
    """Log a resident in over HTTP (argon2: deliberately slow); return the browser's cookies."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/language/en")  # English pages: readable error excerpts
        page = client.get("/account/login").text
        response = client.post(
            "/account/login", data={"identifier": phone, "password": PASSWORD, "csrf_token": csrf_token(page)}
        )
        if response.status_code != 302:
            raise RuntimeError(f"login of {phone} failed ({response.status_code}): {excerpt(response)}")
        return httpx.Cookies(client.cookies)


# -- load -------------------------------------------------------------------------------------------------
def timed(clients: int, seconds: float, make_work) -> dict:
    """Run `clients` processes (no shared GIL, like browsers) for `seconds`; each work(start_at, stop_at)
    returns a dict with done, errors, latencies (ms) and the moment it finished."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.monotonic() + 1.0  # every process starts together
    stop_at = start_at + seconds

    def runner(index: int) -> None:
        try:
            queue.put({**make_work(index)(start_at, stop_at), "client": index})
        except BaseException as error:  # reported, not lost: the parent would wait for it otherwise
            queue.put(
                {
                    "done": 0,
                    "errors": 1,
                    "latencies": [],
                    "steps": {},
                    "ended": time.monotonic(),
                    "crash": f"{type(error).__name__}: {error}",
                }
            )

    processes = [context.Process(target=runner, args=(index,)) for index in range(clients)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    for result in results:
        if "crash" in result:
            log(f"client crashed: {result['crash']}")
    ended = max(result["ended"] for result in results)
    merged_steps: dict[str, list[float]] = {}
    for result in results:
        for step, values in result.get("steps", {}).items():
            merged_steps.setdefault(step, []).extend(values)
    return {
        "quotes": {r.get("client"): r.get("quotes", []) for r in results},
        "done": sum(r["done"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "seconds": max(ended - start_at, seconds),  # a request under way at stop_at is finished and counted
        "latencies": [value for r in results for value in r["latencies"]],
        "steps": merged_steps,
        "exhausted": sum(1 for r in results if r.get("exhausted")),
    }


def payment_work(base: str, cookies: list[httpx.Cookies], round_index: int):
    def make_work(index: int):
        first, last = account_range(round_index, index)

        def work(start_at: float, stop_at: float) -> dict:
            done = errors = shown = 0
            latencies: list[float] = []
            steps: dict[str, list[float]] = {"review": [], "confirm": []}
            exhausted = False
            account = first
            with httpx.Client(base_url=base, cookies=cookies[index], timeout=30) as client:
                csrf = session_csrf(client)
                while time.monotonic() < start_at:
                    time.sleep(0.001)
                while time.monotonic() < stop_at:
                    if account >= last:
                        exhausted = True
                        break
                    reference, account = str(account), account + 1
                    began = time.perf_counter()
                    problem = None
                    try:
                        problem = pay_once(client, csrf, reference, steps)
                    except httpx.HTTPError as error:
                        problem = f"{reference}: {type(error).__name__}: {error}"
                    if problem is None:
                        done += 1
                        latencies.append((time.perf_counter() - began) * 1000)
                    else:
                        errors += 1
                        if shown < ERRORS_SHOWN:
                            shown += 1
                            log(f"client {index} round {round_index}: payment failed: {problem}")
            return {
                "done": done,
                "errors": errors,
                "latencies": latencies,
                "steps": steps,
                "ended": time.monotonic(),
                "exhausted": exhausted,
            }

        return work

    return make_work


def pay_once(client: httpx.Client, csrf: str, reference: str, steps: dict[str, list[float]]) -> str | None:
    """One payment as the issue defines it, review + confirm; the ticked bill's checkbox value is the
    one the lookup page would carry (the benchmark does not time the lookup page: bench/lookup.py does).
    None on success, else what went wrong (with the page)."""
    with _SEALING_APP.app_context():  # checkbox values are sealed with the portal's keys, as the page's
        bill = Selection(AGENCY, (("account_reference", reference),), bill_number(reference)).token()
    t1 = time.perf_counter()
    review = client.post("/payments/review", data={"bill": [bill], "csrf_token": csrf})
    t2 = time.perf_counter()
    if review.status_code != 200:
        where = review.headers.get("location", "")
        return f"{reference}: review answered {review.status_code} {where}: {excerpt(review)}"
    quote = _QUOTE.search(review.text)
    token = csrf_token(review.text)
    if quote is None or token is None:
        return f"{reference}: review page has no quote or no CSRF token: {excerpt(review)}"
    confirm = client.post(
        "/payments/confirm", data={"quote": html_lib.unescape(quote.group(1)), "csrf_token": token}
    )
    t3 = time.perf_counter()
    location = confirm.headers.get("location", "")
    if confirm.status_code != 302 or "/payments/P" not in location:
        return f"{reference}: confirm answered {confirm.status_code} {location}: {excerpt(confirm)}"
    steps["review"].append((t2 - t1) * 1000)
    steps["confirm"].append((t3 - t2) * 1000)
    return None


def bill_number(reference: str) -> str:
    return f"BENCH{int(reference) - FIRST_ACCOUNT:08d}"


def session_csrf(client: httpx.Client) -> str:
    """The session's CSRF token, from any page that carries a form (it stays valid for the session)."""
    token = csrf_token(client.get("/payments/").text) or csrf_token(client.get("/").text)
    if token is None:
        raise RuntimeError("no CSRF token on the resident's pages")
    return token


def review_work(base: str, cookies: list[httpx.Cookies], round_index: int):
    """Reviews alone: each client reviews never-paid bills of a slot of its own (rounds ROUNDS+1...)
    and keeps each quote with its CSRF token for confirm_work."""

    def make_work(index: int):
        first, last = account_range(ROUNDS + round_index, index)

        def work(start_at: float, stop_at: float) -> dict:
            done = errors = 0
            latencies: list[float] = []
            quotes: list[tuple[str, str]] = []
            account = first
            with httpx.Client(base_url=base, cookies=cookies[index], timeout=30) as client:
                csrf = session_csrf(client)
                while time.monotonic() < start_at:
                    time.sleep(0.001)
                while time.monotonic() < stop_at and account < last:
                    reference, account = str(account), account + 1
                    with _SEALING_APP.app_context():
                        bill = Selection(
                            AGENCY, (("account_reference", reference),), bill_number(reference)
                        ).token()
                    began = time.perf_counter()
                    try:
                        review = client.post("/payments/review", data={"bill": [bill], "csrf_token": csrf})
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    quote, token = _QUOTE.search(review.text), csrf_token(review.text)
                    if review.status_code != 200 or quote is None or token is None:
                        errors += 1
                        continue
                    latencies.append((time.perf_counter() - began) * 1000)
                    quotes.append((html_lib.unescape(quote.group(1)), token))
                    done += 1
            return {
                "done": done,
                "errors": errors,
                "latencies": latencies,
                "steps": {},
                # The session cookie as the reviews left it: it holds the CSRF secret their tokens use.
                "quotes": {"cookies": dict(client.cookies), "quotes": quotes},
                "ended": time.monotonic(),
                "exhausted": account >= last,
            }

        return work

    return make_work


def confirm_work(base: str, cookies: list[httpx.Cookies], quotes: dict[int, dict]):
    """Confirms alone, of the quotes review_work gathered; a client out of quotes stops (exhausted)."""

    def make_work(index: int):
        def work(start_at: float, stop_at: float) -> dict:
            done = errors = shown = 0
            latencies: list[float] = []
            gathered = quotes.get(index) or {"cookies": cookies[index], "quotes": []}
            left = list(gathered["quotes"])
            with httpx.Client(base_url=base, cookies=gathered["cookies"], timeout=30) as client:
                while time.monotonic() < start_at:
                    time.sleep(0.001)
                while time.monotonic() < stop_at and left:
                    quote, token = left.pop(0)
                    began = time.perf_counter()
                    try:
                        confirm = client.post("/payments/confirm", data={"quote": quote, "csrf_token": token})
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    if confirm.status_code == 302 and "/payments/P" in confirm.headers.get("location", ""):
                        done += 1
                        latencies.append((time.perf_counter() - began) * 1000)
                    else:
                        errors += 1
                        if shown < ERRORS_SHOWN:
                            shown += 1
                            log(f"client {index}: confirm answered {confirm.status_code}: {excerpt(confirm)}")
            return {
                "done": done,
                "errors": errors,
                "latencies": latencies,
                "steps": {},
                "ended": time.monotonic(),
                "exhausted": not left,
            }

        return work

    return make_work


def anchor_work(base: str):
    def make_work(index: int):
        def work(start_at: float, stop_at: float) -> dict:
            done = errors = shown = 0
            latencies: list[float] = []
            with httpx.Client(base_url=base, timeout=30) as client:
                while time.monotonic() < start_at:
                    time.sleep(0.001)
                while time.monotonic() < stop_at:
                    began = time.perf_counter()
                    try:
                        response = client.post("/bench/tpcb")
                        ok = response.status_code == 200 and response.text == "ok"
                        problem = None if ok else f"{response.status_code}: {excerpt(response)}"
                    except httpx.HTTPError as error:
                        problem = f"{type(error).__name__}: {error}"
                    if problem is None:
                        done += 1
                        latencies.append((time.perf_counter() - began) * 1000)
                    else:
                        errors += 1
                        if shown < ERRORS_SHOWN:
                            shown += 1
                            log(f"anchor client {index}: request failed: {problem}")
            return {
                "done": done,
                "errors": errors,
                "latencies": latencies,
                "steps": {},
                "ended": time.monotonic(),
            }

        return work

    return make_work


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def summary(totals: dict) -> dict:
    seconds = totals["seconds"]
    result = {
        "count": totals["done"],
        "errors": totals["errors"],
        "seconds": round(seconds, 2),
        "per_second": round(totals["done"] / seconds, 1) if seconds else 0.0,
        "p50_ms": percentile(totals["latencies"], 50),
        "p95_ms": percentile(totals["latencies"], 95),
    }
    if totals["steps"]:
        result["step_p50_ms"] = {step: percentile(values, 50) for step, values in totals["steps"].items()}
    if totals.get("exhausted"):
        result["clients_out_of_bills"] = totals["exhausted"]
    return result


def run_load(base: str, cookies: list[httpx.Cookies]) -> dict:
    log(f"warm-up: {WARM_UP:.0f} s per side")
    warm = timed(CLIENTS, WARM_UP, payment_work(base, cookies, 0))
    log(f"warm-up payments: {warm['done']} done, {warm['errors']} errors")
    warm = timed(CLIENTS, WARM_UP, anchor_work(base))
    log(f"warm-up anchor: {warm['done']} done, {warm['errors']} errors")
    sides = ("payments", "anchor", "reviews", "confirms")
    totals = {
        side: {"done": 0, "errors": 0, "seconds": 0.0, "latencies": [], "steps": {}, "exhausted": 0}
        for side in sides
    }
    per_round = []
    for round_index in range(1, ROUNDS + 1):
        rates = {}
        # Alternate which side goes first, so a slow spell of the machine does not always hit one side.
        # Reviews alone, then confirms alone of the quotes they gathered: each request's own rate.
        order = ("payments", "anchor") if round_index % 2 else ("anchor", "payments")
        quotes: dict[int, dict] = {}
        for side in (*order, "reviews", "confirms"):
            if side == "payments":
                work = payment_work(base, cookies, round_index)
            elif side == "anchor":
                work = anchor_work(base)
            elif side == "reviews":
                work = review_work(base, cookies, round_index)
            else:
                work = confirm_work(base, cookies, quotes)
            result = timed(CLIENTS, DURATION / ROUNDS, work)
            if side == "reviews":
                quotes = result["quotes"]
            total = totals[side]
            for key in ("done", "errors", "seconds", "exhausted"):
                total[key] += result[key]
            total["latencies"].extend(result["latencies"])
            for step, values in result["steps"].items():
                total["steps"].setdefault(step, []).extend(values)
            rates[side] = round(result["done"] / result["seconds"], 1)
            counts = f"{result['done']} done, {result['errors']} errors"
            log(f"round {round_index} {side}: {rates[side]}/s ({counts})")
        per_round.append(
            {
                "payments_per_s": rates["payments"],
                "anchor_per_s": rates["anchor"],
                "reviews_per_s": rates["reviews"],
                "confirms_per_s": rates["confirms"],
                "ratio": round(rates["payments"] / rates["anchor"], 3) if rates["anchor"] else None,
            }
        )
    return {side: summary(totals[side]) for side in sides} | {"per_round": per_round}


# -- receipts -------------------------------------------------------------------------------------------
def first_receipt(url: str, phone: str) -> tuple[int, str, str]:
    """(receipt id, payment reference, receipt number) of a payment the resident made in the run."""
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    with database.sessionmaker() as session:
        row = session.execute(
            select(Receipt.id, Payment.reference, Receipt.number)
            .join(Payment, Receipt.payment_id == Payment.id)
            .join(User, Payment.user_id == User.id)
            .where(User.phone == phone)
            .order_by(Receipt.id)
            .limit(1)
        ).first()
    database.dispose()
    if row is None:
        raise RuntimeError("no payment was made, so there is no receipt to render")
    return row.id, row.reference, row.number


def downloads(base: str, cookies: httpx.Cookies, reference: str, number: str) -> dict:
    """First download (renders and stores the PDF), then DOWNLOADS repeated ones of the stored bytes."""
    path = f"/payments/{reference}/receipts/{number}.pdf"
    times = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        began = time.perf_counter()
        first = client.get(path)
        first_ms = (time.perf_counter() - began) * 1000
        if first.status_code != 200 or not first.content.startswith(b"%PDF"):
            raise RuntimeError(f"receipt download answered {first.status_code}: {excerpt(first)}")
        for _ in range(DOWNLOADS):
            began = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200 or response.content != first.content:
                raise RuntimeError(f"repeated receipt download answered {response.status_code}")
        # A browser that kept the file asks again with its ETag: 304, no body (diagnostic, no target).
        etag = first.headers.get("etag", "")
        conditional, status = [], None
        for _ in range(DOWNLOADS // 2):
            began = time.perf_counter()
            status = client.get(path, headers={"If-None-Match": etag}).status_code
            conditional.append((time.perf_counter() - began) * 1000)
    return {
        "first_ms": round(first_ms, 1),
        "requests": DOWNLOADS,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": percentile(times, 95),
        "bytes": len(first.content),
        "conditional_status": status,
        "conditional_median_ms": round(statistics.median(conditional), 2) if conditional else None,
    }


def render_timings(url: str, receipt_id: int) -> dict:
    """The portal's path against a bare WeasyPrint render of the same HTML, alternated, medians."""
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    static = app.static_folder
    base_url = Path(static).as_uri() + "/"
    stages: dict[str, list[float]] = {"facts": [], "html": [], "render_pdf": []}
    portal_ms, bare_ms = [], []
    variants: dict[str, list[float]] = {"static_base_url_default_fetcher": [], "portal_fetcher_no_pdf_ua": []}

    def portal_once() -> tuple[float, str, bytes]:
        with database.sessionmaker() as session:  # as the outbox worker's handler does
            receipt = session.get(Receipt, receipt_id)
            t0 = time.perf_counter()
            facts = receipt_facts(session, receipt, verify_url(receipt.number))
            t1 = time.perf_counter()
            html = receipt_html(facts)
            t2 = time.perf_counter()
            pdf = render_pdf(html)
            t3 = time.perf_counter()
        stages["facts"].append((t1 - t0) * 1000)
        stages["html"].append((t2 - t1) * 1000)
        stages["render_pdf"].append((t3 - t2) * 1000)
        return (t3 - t0) * 1000, html, pdf

    def bare_once(html: str) -> tuple[float, bytes]:
        t0 = time.perf_counter()
        pdf = HTML(string=html).write_pdf()
        return (time.perf_counter() - t0) * 1000, pdf

    def variant_once(name: str, html: str) -> None:
        t0 = time.perf_counter()
        if name == "static_base_url_default_fetcher":
            HTML(string=html, base_url=base_url).write_pdf()
        else:
            HTML(string=html, base_url=base_url, url_fetcher=StaticFilesOnly(static)).write_pdf()
        variants[name].append((time.perf_counter() - t0) * 1000)

    with app.app_context():
        _, html, portal_pdf = portal_once()  # warm-up: imports, fonts, templates
        _, bare_pdf = bare_once(html)
        for name in variants:
            variant_once(name, html)
            variants[name].clear()
        for stage in stages.values():
            stage.clear()
        for _ in range(RENDERS):
            elapsed, html, portal_pdf = portal_once()
            portal_ms.append(elapsed)
            elapsed, bare_pdf = bare_once(html)
            bare_ms.append(elapsed)
            for name in variants:
                variant_once(name, html)
    database.dispose()
    portal, bare = statistics.median(portal_ms), statistics.median(bare_ms)
    return {
        "renders": RENDERS,
        "portal_ms_median": round(portal, 1),
        "bare_ms_median": round(bare, 1),
        "render_overhead": round(portal / bare, 3),
        "portal_stages_ms_median": {stage: round(statistics.median(v), 2) for stage, v in stages.items()},
        "diagnostic_variants_ms_median": {
            name: round(statistics.median(v), 1) for name, v in variants.items()
        },
        "portal_pdf_bytes": len(portal_pdf),
        "bare_pdf_bytes": len(bare_pdf),
        "html_chars": len(html),
    }


# -- main -----------------------------------------------------------------------------------------------
def main() -> None:
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]  # other work on the machine shows here, not in the ratio
    name = f"portal_payments_{uuid.uuid4().hex[:8]}"
    server = None
    log_fd, log_path = tempfile.mkstemp(prefix="bench-payments-gunicorn-", suffix=".log")
    result: dict = {}
    failed = False
    try:
        url = create_database(name)
        log(f"database {name}")
        phones = prepare(url)
        port = free_port()
        # Workers are not recycled mid-run (gunicorn.conf.py's max_requests): a restart would cut a client's
        # connection; bench/soak.py is where recycling is exercised.
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORTAL_ENV": "development",
            "RATELIMIT_ENABLED": "false",
            "GUNICORN_MAX_REQUESTS": "0",
        }
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "bench.payments_app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_fd,
            stderr=log_fd,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        log(f"gunicorn ({WORKERS} sync workers) on {base}; logging {CLIENTS} residents in")
        cookies = [login(base, phone) for phone in phones]
        load = run_load(base, cookies)
        log(f"payments {load['payments']['per_second']}/s, anchor {load['anchor']['per_second']}/s")
        receipt_id, reference, number = first_receipt(url, phones[0])
        log(f"receipt {number} of {reference}: downloads over HTTP")
        download = downloads(base, cookies[0], reference, number)
        log(f"receipt downloads: first {download['first_ms']} ms, median {download['median_ms']} ms")
        log(f"receipt renders in process: {RENDERS} of each after a warm-up")
        render = render_timings(url, receipt_id)
        anchor_rate = load["anchor"]["per_second"]

        def of_anchor(side: str) -> float | None:
            return round(load[side]["per_second"] / anchor_rate, 3) if anchor_rate else None

        ratio, confirm_ratio, review_ratio = (
            of_anchor("payments"),
            of_anchor("confirms"),
            of_anchor("reviews"),
        )
        alone = {side: load[side]["per_second"] for side in ("reviews", "confirms")}
        log(f"reviews alone {alone['reviews']}/s, confirms alone {alone['confirms']}/s")
        result = {
            "benchmark": "http_payments_vs_tpcb_route",
            "backend": "postgresql",
            "server": f"gunicorn {WORKERS} sync workers, PORTAL_ENV=development, loopback",
            "clients": CLIENTS,
            "duration_s_each": DURATION,
            "rounds": ROUNDS,
            "cpu_count": os.cpu_count(),
            "payments": load["payments"],
            "anchor_tpcb_route": load["anchor"],
            "reviews_alone": load["reviews"],
            "confirms_alone": load["confirms"],
            "per_round": load["per_round"],
            "ratio": ratio,
            "confirm_ratio": confirm_ratio,
            "review_ratio": review_ratio,
            "receipt_pdf": render,
            "render_overhead": render["render_overhead"],
            "receipt_download": download,
            "targets": {
                "ratio_at_least": TARGETS["ratio"],
                "confirm_ratio_at_least": TARGETS["confirm_ratio"],
                "render_overhead_at_most": TARGETS["render_overhead"],
                "download_median_ms_under": TARGETS["download_median_ms"],
                "download_p95_ms_under": TARGETS["download_p95_ms"],
            },
            "met": {
                "ratio": ratio is not None and ratio >= TARGETS["ratio"],
                "confirm_ratio": confirm_ratio is not None and confirm_ratio >= TARGETS["confirm_ratio"],
                "render_overhead": render["render_overhead"] <= TARGETS["render_overhead"],
                "download_median_ms": download["median_ms"] < TARGETS["download_median_ms"],
                "download_p95_ms": download["p95_ms"] < TARGETS["download_p95_ms"],
            },
        }
        failed = bool(sum(load[side]["errors"] for side in ("payments", "anchor", "reviews", "confirms")))
    except BaseException:
        failed = True
        raise
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
        drop_database(name)
        os.close(log_fd)
        if failed:
            lines = Path(log_path).read_text(errors="replace").splitlines()
            tail = [line for line in lines if " INFO " not in line][-40:]  # the adapters log every call
            log("gunicorn log (last 40 lines but INFO):\n" + "\n".join(tail))
        os.unlink(log_path)
        log(f"dropped {name}; {time.monotonic() - started:.0f} s in all")
    result["total_seconds"] = round(time.monotonic() - started, 1)
    result["load_average_1min"] = {"start": load_at_start, "end": os.getloadavg()[0]}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
