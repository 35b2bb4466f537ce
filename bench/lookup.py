"""Bill lookups per second against a local-adapter agency holding 100,000 bills, under gunicorn with 2
workers on PostgreSQL, and in the same run the same server's plain "hello" route as the anchor.

Load comes from wrk (Debian's package) on loopback, 8 connections, 2 threads, with a random household
account number per request, after 2 s of each route that are not measured (templates compiled,
connections opened in both workers). Prints one JSON object as its last line: "ratio" = lookup rate /
hello rate, "p99_ms" = the lookups' 99th percentile latency. Targets: ratio >= 0.3, p99 < 50 ms.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from bench.wallet import create_database, drop_database  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.agencies.models import Agency  # noqa: E402
from portal.bills.models import Bill  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402

BILLS = 100_000
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
WARM_UP = 2  # seconds of each route before the measured runs
BIN = Path(sys.executable).parent
LUA = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/bills/water?account_reference=" .. tostring(4000000000 + math.random(0, %d)))
end
"""


def load_bills(url: str) -> None:
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        demo.seed(session, wallet_service(session))
        water = session.scalar(select(Agency.id).where(Agency.code == "water"))
        for start in range(0, BILLS, 10_000):
            session.execute(
                insert(Bill),
                [
                    {
                        "agency_id": water,
                        "bill_no": f"BENCH{n:07d}",
                        "account_reference": str(4_000_000_000 + n),
                        "payer_name": "张小三",
                        "description": "居民生活用水",
                        "period": "2026-11",
                        "amount_fen": 1_000 + n % 9_000,
                        "late_fee_fen": 0,
                    }
                    for n in range(start, min(start + 10_000, BILLS))
                ],
            )
    database.dispose()
    # As autovacuum soon would, and as the other benchmarks do: not in the middle of the measurement.
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def wrk(base: str, path: str, script: str | None, duration: int = DURATION) -> dict:
    command = ["wrk", "-t2", "-c8", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, base + path], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, flags=re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": rate,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (make bench installs it)")
    name = f"portal_lookup_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    server = None
    try:
        load_bills(url)
        port = 5300 + os.getpid() % 500
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
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "bench.lookup_app:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/hello", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % (BILLS - 1))
        # Both workers compile the page's templates, open their connections and fill their caches before
        # anything is measured, on both routes alike: the figures are of a server that has been running.
        wrk(base, "/hello", None, WARM_UP)
        wrk(base, "/bills/water", script.name, WARM_UP)
        hello = wrk(base, "/hello", None)
        lookup = wrk(base, "/bills/water", script.name)
        os.unlink(script.name)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        drop_database(name)
    print(
        json.dumps(
            {
                "benchmark": "bill_lookup_vs_hello",
                "server": "gunicorn 2 workers (sync), PostgreSQL",
                "bills": BILLS,
                "duration_s_each": DURATION,
                "cpu_count": os.cpu_count(),
                "hello": hello,
                "lookup": lookup,
                "ratio": round(lookup["requests_per_second"] / hello["requests_per_second"], 3),
                "p99_ms": lookup["p99_ms"],
                "targets": {"ratio": 0.3, "p99_ms": 50},
            }
        )
    )


if __name__ == "__main__":
    main()
