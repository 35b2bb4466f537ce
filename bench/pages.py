"""Page latency and throughput of the foundation, served by gunicorn on loopback as `make run` does.

Prints JSON: per endpoint the requests made, requests per second and latency percentiles, plus the
time of one argon2id password hash at the production cost (it dominates a login).
Bounded in time: DURATION seconds per endpoint (default 8).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DURATION = float(os.environ.get("BENCH_DURATION", "8"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
ENDPOINTS = ["/healthz", "/", "/account/login"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("portal did not start")


def hammer(url: str) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + DURATION

    def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1

    began = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for _ in range(CONCURRENCY):
            pool.submit(worker)
    wall = time.monotonic() - began
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p95_ms": round(quantiles[94] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
    }


def argon2_hash_ms() -> float:
    from argon2 import PasswordHasher

    sys.path.insert(0, str(ROOT))
    from config import Config

    config = Config({})
    hasher = PasswordHasher(time_cost=config.ARGON2_TIME_COST, memory_cost=config.ARGON2_MEMORY_COST_KIB)
    hasher.hash("warm-up")
    runs = []
    for _ in range(10):
        started = time.perf_counter()
        hasher.hash("correct horse battery staple")
        runs.append(time.perf_counter() - started)
    return round(statistics.median(runs) * 1000, 1)


def main() -> None:
    hash_ms = argon2_hash_ms()  # measured first, on an idle machine
    with tempfile.TemporaryDirectory() as tmp:
        # Workers are not recycled mid-run (gunicorn.conf.py's max_requests): bench/soak.py exercises that.
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "PORTAL_ENV": "development",
            "GUNICORN_MAX_REQUESTS": "0",
        }
        flask = [str(BIN / "flask"), "--app", "portal"]
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run([*flask, "demo", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "portal:create_app()",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, time.monotonic() + 30)
            results = {path: hammer(base + path) for path in ENDPOINTS}
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        json.dumps(
            {
                "benchmark": "pages",
                "server": "gunicorn 2 workers x 4 threads, SQLite",
                "concurrency": CONCURRENCY,
                "duration_s_per_endpoint": DURATION,
                "cpu_count": os.cpu_count(),
                "endpoints": results,
                "argon2id_hash_ms_production_cost": hash_ms,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
