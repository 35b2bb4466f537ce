"""Finance export of 1,000,000 payments on PostgreSQL, in ONE run (a database created for the run and
dropped at the end), served by gunicorn with one sync worker on loopback.

- ours: a finance user downloads the collections CSV of every payment over HTTP through the app's export
  path (GET /reports/collections.csv: the filter form, the audit record with the row count, then the
  streamed file: BOM, translated header, one line per bill with Beijing times, labels, yuan amounts and
  spreadsheet-safe text). Timed from the request to the last byte read.
- anchor: ``COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)`` over psycopg of the same columns of the same
  rows (the raw stored values, the same joins, filter and order), read to the end.
- memory: the peak resident set (VmHWM) of the gunicorn worker while it serves the exports (target
  < 150 MB), next to its resident set before them. The peak is reset (``/proc/PID/clear_refs``) after the
  finance user's login, whose argon2 check briefly takes 64 MiB of its own; that peak is reported apart.
- XLSX: the Excel export of about 100,000 of those rows (a range of days) over HTTP (target < 15 s), and
  the worker's peak with it.
Each side runs RUNS times, alternating; medians are reported; "ratio" = ours / COPY (target at most 3).
Prints progress to stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pyotp
from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from bench.payments import free_port, wait_until_up  # noqa: E402
from bench.wallet import create_database, drop_database  # noqa: E402
from config import Config  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.authz import Role  # noqa: E402
from portal.db import utcnow  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402

PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DAYS = 30  # the payments are spread evenly over these Beijing days, ending 2026-10-31
XLSX_DAYS = int(os.environ.get("BENCH_XLSX_DAYS", "3"))  # 3 of 30 days: 100,000 of 1,000,000
BIN = Path(sys.executable).parent
EMAIL = "bench-finance@demo.gov.cn"
PASSWORD = "bench reports correct horse"  # noqa: S105 - a throwaway finance user's password
TOTP_SECRET = pyotp.random_base32()  # staff log in with a second factor: the bench's own authenticator
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')

# One payment with one bill line each, paid at evenly spaced moments of October 2026 (Beijing).
SEED = [
    """
    INSERT INTO payments (reference, user_id, idempotency_key, state, total_fen, refunded_fen,
                          transfer_reference, channel, created_at, paid_at, confirmed_at)
    SELECT 'P' || lpad(n::text, 15, '0'), %(user)s, 'bench-' || n, 'confirmed', 1000 + n %% 9000, 0,
           'T' || lpad(n::text, 15, '0'), 'web', at, at, at
      FROM (SELECT n, TIMESTAMPTZ '2026-10-01 00:00:00+08' + n * %(step)s * interval '1 second' AS at
              FROM generate_series(0, %(payments)s - 1) AS n) AS s
    """,
    """
    INSERT INTO payment_items (payment_id, agency_id, bill_id, account_reference, payer_name, description,
                               period, amount_fen, late_fee_fen, settles_bill, state, agency_reference,
                               agency_amount_fen, confirmed_at, refunded_fen)
    SELECT p.id, (SELECT id FROM agencies ORDER BY id OFFSET p.id %% 3 LIMIT 1), 'B' || p.id, '31002' || p.id,
           '张小三', CASE WHEN p.id %% 97 = 0 THEN '=HYPERLINK("x")' ELSE '居民生活用水' END, '2026-10',
           p.total_fen, 0, true, 'confirmed', 'SBX-' || p.id, p.total_fen, p.paid_at, 0
      FROM payments AS p
    """,
]
ANCHOR = """
COPY (SELECT p.paid_at, p.reference, a.code, a.name_zh, a.category, i.bill_id, i.description, i.period,
             i.amount_fen, i.refunded_fen, i.amount_fen - i.refunded_fen, p.state, i.state, p.channel,
             i.agency_reference, p.transfer_reference
        FROM payment_items AS i
        JOIN payments AS p ON p.id = i.payment_id
        JOIN agencies AS a ON a.id = i.agency_id
       WHERE p.paid_at >= %(start)s AND p.paid_at < %(end)s
       ORDER BY p.paid_at, i.id) TO STDOUT WITH (FORMAT csv)
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(url: str) -> None:
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    config = Config({})
    password_hash = PasswordHasher(
        time_cost=config.ARGON2_TIME_COST, memory_cost=config.ARGON2_MEMORY_COST_KIB
    ).hash(PASSWORD)
    with app.app_context(), database.write_transaction() as session:
        demo.seed(session, wallet_service(session))
        finance = User(
            role=Role.FINANCE,
            email=EMAIL,
            password_hash=password_hash,
            display_name="Bench",
            totp_secret=TOTP_SECRET,
            totp_enabled_at=utcnow(),
        )
        session.add(finance)
        session.flush()  # the payments below name this user as their payer
        user_id = finance.id
    database.dispose()
    with psycopg.connect(dsn(url), autocommit=True) as connection:
        for statement in SEED:
            connection.execute(
                statement, {"user": user_id, "payments": PAYMENTS, "step": DAYS * 86400 / PAYMENTS}
            )
        connection.execute("VACUUM ANALYZE")
    log(f"loaded {PAYMENTS} payments with one bill each")


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def anchor_seconds(url: str, start: str, end: str) -> tuple[float, int]:
    started = time.perf_counter()
    rows = 0
    with (
        psycopg.connect(dsn(url)) as connection,
        connection.cursor() as cursor,
        cursor.copy(ANCHOR, {"start": start, "end": end}) as copy,
    ):
        for _row in copy:
            rows += 1
    return time.perf_counter() - started, rows


def login(base: str) -> httpx.Cookies:
    with httpx.Client(base_url=base) as client:
        page = client.get("/account/login").text
        match = _CSRF.search(page)
        token = match.group(1) or match.group(2)
        response = client.post(
            "/account/login", data={"identifier": EMAIL, "password": PASSWORD, "csrf_token": token}
        )
        if response.status_code != 302 or response.headers["Location"] != "/account/two-factor":
            raise RuntimeError(f"login failed ({response.status_code})")
        page = client.get("/account/two-factor").text
        match = _CSRF.search(page)
        code = pyotp.TOTP(TOTP_SECRET).now()
        response = client.post(
            "/account/two-factor", data={"code": code, "csrf_token": match.group(1) or match.group(2)}
        )
        if response.status_code != 302:
            raise RuntimeError(f"second login step failed ({response.status_code})")
        return client.cookies


def export_seconds(base: str, cookies: httpx.Cookies, path: str) -> tuple[float, int, int]:
    """Seconds to the last byte, bytes and lines of one export."""
    started = time.perf_counter()
    size = lines = 0
    with (
        httpx.Client(base_url=base, cookies=cookies, timeout=600) as client,
        client.stream("GET", path) as response,
    ):
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - started, size, lines


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def measure(url: str, base: str, master: int) -> dict:
    cookies = login(base)
    pid = worker_pid(master)
    before = memory_mb(pid, "VmRSS")
    login_peak = memory_mb(pid, "VmHWM")  # argon2 verifies the login in 64 MiB of its own
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS starts again from the current RSS
    all_days = "date_from=2026-10-01&date_to=2026-10-31"
    ours, anchor = [], []
    for run in range(RUNS):
        seconds, size, lines = export_seconds(base, cookies, f"/reports/collections.csv?{all_days}")
        ours.append(seconds)
        copied, rows = anchor_seconds(url, "2026-09-30T16:00:00+00:00", "2026-10-31T16:00:00+00:00")
        anchor.append(copied)
        log(
            f"run {run + 1}: ours {seconds:.2f} s ({lines - 1} rows, {size / 1e6:.0f} MB), "
            f"COPY {copied:.2f} s ({rows} rows)"
        )
        if lines - 1 != PAYMENTS or rows != PAYMENTS:
            raise RuntimeError(f"expected {PAYMENTS} rows, exported {lines - 1}, copied {rows}")
    peak = memory_mb(pid, "VmHWM")
    xlsx_range = f"date_from=2026-10-01&date_to=2026-10-{XLSX_DAYS:02d}"
    xlsx_seconds, xlsx_size, _ = export_seconds(base, cookies, f"/reports/collections.xlsx?{xlsx_range}")
    log(f"xlsx of {XLSX_DAYS} days: {xlsx_seconds:.2f} s, {xlsx_size / 1e6:.1f} MB")
    peak_with_xlsx = memory_mb(pid, "VmHWM")
    return {
        "ours_seconds": round(statistics.median(ours), 3),
        "copy_seconds": round(statistics.median(anchor), 3),
        "ratio": round(statistics.median(ours) / statistics.median(anchor), 2),
        "peak_mem_mb": peak,
        "worker_rss_before_mb": before,
        "worker_peak_through_login_mb": login_peak,
        "csv_mb": round(size / 1e6, 1),
        "xlsx_rows": PAYMENTS * XLSX_DAYS // DAYS,
        "xlsx_seconds": round(xlsx_seconds, 2),
        "peak_mem_with_xlsx_mb": peak_with_xlsx,
        "runs": RUNS,
    }


def main() -> None:
    name = f"portal_reports_{uuid.uuid4().hex[:8]}"
    server = None
    log_fd, log_path = tempfile.mkstemp(prefix="bench-reports-gunicorn-", suffix=".log")
    try:
        url = create_database(name)
        log(f"database {name}")
        prepare(url)
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
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "600"]
        server = subprocess.Popen(
            [*command, "portal:create_app()"], cwd=ROOT, env=env, stdout=log_fd, stderr=log_fd
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        result = {
            "benchmark": "collections_csv_export_vs_copy",
            "backend": "postgresql",
            "payments": PAYMENTS,
        }
        result |= measure(url, base, server.pid)
        result["targets"] = {"ratio_max": 3, "peak_mem_mb_max": 150, "xlsx_seconds_max": 15}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        os.close(log_fd)
        os.unlink(log_path)
        drop_database(name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
