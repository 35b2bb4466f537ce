"""The analytics pages over a year of a city's payments, in ONE run on PostgreSQL (a database created for
the run and dropped at the end).

- load: BENCH_RESIDENTS residents (default 100,000) and BENCH_PAYMENTS payments (default 1,000,000) over
  the 365 Beijing days before today, loaded by COPY with their bill lines (one in six payments pays two
  bills): channels web 80 %, auto-pay 8 %, without an account 4 %, counter 8 % (no resident); one line
  in twelve with a late fee; half the lines for bills the portal holds (their bills loaded too, issued
  0-40 days before payment); hours weighted to the day. One 30-day campaign in the middle of the year
  discounts one payment in five during it. Plus 2,000 payments in the last hour, for the live page.
- roll-up: the worker's scans (`rollup.keep_up`) until every day is rolled up, then one steady-state scan
  (today, yesterday, the campaign); seconds per day, per scan and in all.
- pages: a finance user, logged in with their second factor, fetches each analytics page through the
  app (Flask's test client: the same views, templates, session and queries as under gunicorn, without
  the socket) PAGE_RUNS times after one warm-up; median and p95 milliseconds per page. Target: every
  page under 200 ms.
Prints progress to stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.wallet import create_database, drop_database  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.accounts.passwords import hash_password  # noqa: E402
from portal.agencies.models import Agency  # noqa: E402
from portal.analytics import rollup  # noqa: E402
from portal.analytics.models import RolledDay  # noqa: E402
from portal.authz import Role  # noqa: E402
from portal.clock import SHANGHAI, business_day, day_bounds  # noqa: E402
from portal.db import utcnow  # noqa: E402
from portal.promotions.models import Campaign, CampaignRule, CampaignState  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402

RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "100000"))
PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "1000000"))
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "20"))
DAYS = 365
LIVE_PAYMENTS = 2_000
TARGET_MS = 200
EMAIL, PASSWORD = "bench-analytics@demo.gov.cn", "bench analytics correct horse"
TOTP_SECRET = pyotp.random_base32()
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 12, 12, 13, 13, 12, 11, 12, 14, 14, 10, 6, 3]
CHANNELS = ["web"] * 80 + ["autopay"] * 8 + ["guest"] * 4 + ["counter"] * 8
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def log(message: str) -> None:
    print(f"[analytics] {message}", file=sys.stderr, flush=True)


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def prepare(url: str, today: date) -> dict:
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        demo.seed(session, wallet_service(session))
        finance = User(
            role=Role.FINANCE,
            email=EMAIL,
            password_hash=hash_password(PASSWORD),
            totp_secret=TOTP_SECRET,
            totp_enabled_at=utcnow(),
        )
        session.add(finance)
        session.flush()
        agencies = list(session.scalars(select(Agency.id).order_by(Agency.id)))
        start = today - timedelta(days=DAYS // 2)
        campaign = Campaign(
            code="BENCH-AN",
            name_zh="年中立减",
            name_en="Mid-year discount",
            starts_at=day_bounds(start)[0],
            ends_at=day_bounds(start + timedelta(days=29))[1],
            rule=CampaignRule.FIXED_OFF,
            amount_off_fen=200,
            budget_fen=10**11,
            state=CampaignState.ACTIVE,
            created_by_id=finance.id,
        )
        session.add(campaign)
        session.flush()
        facts = {
            "finance": finance.id,
            "agencies": agencies,
            "campaign": campaign.id,
            "campaign_start": start,
        }
    database.dispose()
    started = time.perf_counter()
    with psycopg.connect(dsn(url), autocommit=True) as connection:
        _load(connection, today, facts)
        connection.execute("VACUUM ANALYZE")
    took = time.perf_counter() - started
    log(f"loaded {RESIDENTS} residents and {PAYMENTS + LIVE_PAYMENTS} payments in {took:.0f} s")
    return app, facts


def _copy(connection, statement: str, rows) -> None:
    with connection.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _load(connection, today: date, facts: dict) -> None:
    first_user = connection.execute(
        """
        INSERT INTO users (phone, password_hash, role, verification_tier, is_active, must_change_password,
                           failed_login_count, password_changed_at, created_at)
        SELECT '15' || lpad(n::text, 9, '0'), 'x', 'resident', 'id_verified', true, false, 0, now(),
               now() - (n %% 400) * interval '1 day'
          FROM generate_series(1, %(residents)s) AS n
        RETURNING id
        """,
        {"residents": RESIDENTS},
    ).fetchone()[0]
    random.seed(23)
    year_start = datetime.combine(today - timedelta(days=DAYS), datetime.min.time(), tzinfo=SHANGHAI)
    now = utcnow()
    hour_weights = list(range(24))

    def payments():
        for n in range(PAYMENTS + LIVE_PAYMENTS):
            if n < PAYMENTS:
                day = n * DAYS // PAYMENTS
                hour = random.choices(hour_weights, HOURS)[0]
                at = year_start + timedelta(days=day, hours=hour, seconds=random.randrange(3600))
            else:
                at = now - timedelta(seconds=random.randrange(3600))
            channel = random.choice(CHANNELS)
            user = None if channel == "counter" else first_user + random.randrange(RESIDENTS)
            total = 1_000 + random.randrange(20_000)
            refunded = total if random.random() < 0.01 else 0
            yield (f"B{n:015d}", user, f"bench-an-{n}", "confirmed", total, refunded, channel, at, at, at)

    _copy(
        connection,
        "COPY payments (reference, user_id, idempotency_key, state, total_fen, refunded_fen, channel,"
        " created_at, paid_at, confirmed_at) FROM STDIN",
        payments(),
    )
    log("payments copied")
    ids = connection.execute(
        "SELECT id, total_fen, paid_at FROM payments WHERE reference LIKE 'B%' ORDER BY id"
    )
    agencies = facts["agencies"]
    bills, lines = [], []
    for payment_id, total, paid_at in ids:
        parts = [total] if payment_id % 6 else [total // 2, total - total // 2]
        for index, amount in enumerate(parts):
            agency = agencies[(payment_id + index) % len(agencies)]
            bill_no = f"AN{payment_id}-{index}"
            late = 100 if (payment_id + index) % 12 == 0 else 0
            if (payment_id + index) % 2 == 0:
                issued = paid_at - timedelta(days=(payment_id * 7 + index) % 41)
                bills.append((agency, bill_no, "31002", "张小三", "", "", amount, late, "paid", issued))
            lines.append(
                (
                    payment_id,
                    agency,
                    bill_no,
                    "31002",
                    "张小三",
                    "",
                    "",
                    amount,
                    late,
                    True,
                    "confirmed",
                    "",
                    paid_at,
                    0,
                )
            )
    _copy(
        connection,
        "COPY payment_items (payment_id, agency_id, bill_id, account_reference, payer_name, description,"
        " period, amount_fen, late_fee_fen, settles_bill, state, agency_reference, confirmed_at,"
        " refunded_fen) FROM STDIN",
        lines,
    )
    _copy(
        connection,
        "COPY bills (agency_id, bill_no, account_reference, payer_name, description, period, amount_fen,"
        " late_fee_fen, status, created_at) FROM STDIN",
        bills,
    )
    log(f"{len(lines)} bill lines and {len(bills)} bills copied")
    start = day_bounds(facts["campaign_start"])[0]
    connection.execute(
        """
        INSERT INTO campaign_uses (campaign_id, user_id, payment_id, discount_fen, returned_fen, created_at)
        SELECT %(campaign)s, user_id, id, 200, 0, paid_at FROM payments
         WHERE paid_at >= %(start)s AND paid_at < %(start)s + interval '30 days'
           AND user_id IS NOT NULL AND id %% 5 = 0
        """,
        {"campaign": facts["campaign"], "start": start},
    )


def roll_up(app, facts: dict, today: date) -> dict:
    """As the worker does: scans of ``rollup.keep_up`` until every day is rolled up (the oldest days
    first, MAX_DAYS_PER_SCAN a scan beside today and yesterday; each week's and month's figures once a
    scan; then the campaigns). Then one more scan, the steady state: today, yesterday, the campaign."""
    database = app.extensions["portal.db"]
    scans = []
    days = 0
    started = time.perf_counter()
    with app.app_context():
        while days < DAYS + 1 and len(scans) < 40:
            began = time.perf_counter()
            rolled = rollup.keep_up(database, utcnow())
            scans.append((rolled, time.perf_counter() - began))
            with database.sessionmaker() as session:
                days = session.scalar(
                    select(func.count()).select_from(RolledDay).where(RolledDay.rolled_at.is_not(None))
                )
            log(f"scan {len(scans)}: {rolled} day(s) in {scans[-1][1]:.1f} s; {days} rolled up")
        in_all = time.perf_counter() - started
        began = time.perf_counter()
        steady_days = rollup.keep_up(database, utcnow())
        steady = time.perf_counter() - began
    per_day = [seconds / rolled for rolled, seconds in scans if rolled]
    return {
        "days": days,
        "scans": len(scans),
        "seconds_in_all": round(in_all, 1),
        "seconds_per_day_median": round(statistics.median(per_day), 3),
        "seconds_per_scan_max": round(max(seconds for _rolled, seconds in scans), 1),
        "steady_scan_seconds": round(steady, 2),
        "steady_scan_days": steady_days,
    }


def logged_in(app):
    client = app.test_client()
    client.get("/language/en")
    page = client.get("/account/login").get_data(as_text=True)
    match = _CSRF.search(page)
    answer = client.post(
        "/account/login",
        data={"identifier": EMAIL, "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login failed ({answer.status_code})")
    page = client.get("/account/two-factor").get_data(as_text=True)
    match = _CSRF.search(page)
    answer = client.post(
        "/account/two-factor",
        data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": match.group(1) or match.group(2)},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"second login step failed ({answer.status_code})")
    return client


def pages(today: date) -> dict[str, str]:
    year = f"date_from={(today - timedelta(days=DAYS)).isoformat()}&date_to={today.isoformat()}"
    month = f"date_from={(today - timedelta(days=29)).isoformat()}&date_to={today.isoformat()}"
    return {
        "adoption, 30 days by day": f"/analytics/?{month}&grain=day",
        "adoption, a year by week": f"/analytics/?{year}&grain=week",
        "adoption, a year by month": f"/analytics/?{year}&grain=month",
        "behaviour, 30 days": f"/analytics/behaviour?{month}&grain=day",
        "behaviour, a year": f"/analytics/behaviour?{year}&grain=month",
        "promotions, a year": f"/analytics/promotions?{year}&grain=month",
        "live": "/analytics/live",
        "live panel": "/analytics/live/panel",
        "export: channels of a year (CSV)": f"/analytics/channels.csv?{year}&grain=month",
    }


def measure_pages(app, today: date) -> dict:
    client = logged_in(app)
    results = {}
    for name, path in pages(today).items():
        answer = client.get(path)  # warm-up
        if answer.status_code != 200:
            raise RuntimeError(f"{name}: {path} answered {answer.status_code}")
        times = []
        for _ in range(PAGE_RUNS):
            began = time.perf_counter()
            answer = client.get(path)
            answer.get_data()
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        results[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "bytes": len(answer.get_data()),
        }
        log(f"{name}: median {results[name]['median_ms']} ms, p95 {results[name]['p95_ms']} ms")
    return results


def main() -> None:
    name = f"portal_analytics_{uuid.uuid4().hex[:8]}"
    today = business_day(utcnow())
    result: dict = {}
    try:
        url = create_database(name)
        log(f"database {name}")
        app, facts = prepare(url, today)
        rolled = roll_up(app, facts, today)
        log(f"rolled up {rolled['days']} days in {rolled['seconds_in_all']} s")
        measured = measure_pages(app, today)
        slowest = max(page["p95_ms"] for page in measured.values())
        with psycopg.connect(dsn(url)) as connection:
            sizes = dict(
                connection.execute(
                    "SELECT 'payments', count(*) FROM payments UNION ALL SELECT 'payment_items', count(*)"
                    " FROM payment_items UNION ALL SELECT 'bills', count(*) FROM bills"
                ).fetchall()
            )
        result = {
            "benchmark": "analytics_pages",
            "backend": "postgresql",
            "residents": RESIDENTS,
            "rows": sizes,
            "rollup": rolled,
            "pages": measured,
            "slowest_p95_ms": slowest,
            "target_ms": TARGET_MS,
            "met": slowest < TARGET_MS,
            "page_runs": PAGE_RUNS,
            "cpu_count": os.cpu_count(),
        }
        app.extensions["portal.db"].dispose()
    finally:
        drop_database(name)
        log(f"dropped {name}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
