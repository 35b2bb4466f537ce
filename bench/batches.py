"""Bill batch upload (preview, then commit) of a 100,000-row CSV on PostgreSQL, against PostgreSQL's own
COPY of the same bytes, and the peak memory of a 500,000-row file, in ONE run.

- ours: a clerk of the demo `water` agency (local adapter) uploads a UTF-8 CSV with the columns of
  portal/batches/rows.py; the services run as the web views call them, inside a test request context:
  the preview (``services.upload()``, formerly ``services.preview()``), then ``services.commit()``, then
  the session's commit. Timed from the start of the preview to the end of the commit: the clerk's whole
  journey (on PostgreSQL the preview stages the checked rows and the commit applies them in SQL; on
  SQLite every row is checked again at the commit). Files over BATCH_BACKGROUND_BYTES would go to the
  worker, which runs the same check_rows / commit_now; the limit is raised here so both steps run in
  the request.
- the water company already holds EXISTING bills (as in bench/lookup.py), the table ANALYZEd.
- anchor: ``COPY ... FROM STDIN WITH (FORMAT csv, HEADER true)`` of the same bytes over psycopg into a
  bare table of text columns, committed.
Each side runs RUNS times, alternating, every run inserting 100,000 new bills (a bill-number prefix per
run); medians are reported, "ratio" = ours / COPY (target at most 5).
- issue 24's anchor: COPY of the same bills as the bills table holds them (agency, fen, dates, status,
  batch) into ``bench_shaped_bills``, made ``LIKE bills INCLUDING ALL`` plus its two foreign keys, in
  the same run; "shaped_ratio" = ours / that (target at most 1.5).
- memory: preview + commit of a 500,000-row file in a child process (``--child URL CSV``); its peak RSS
  comes from getrusage(RUSAGE_CHILDREN) once it exits (target under 300 MB), next to the child's RSS just
  after importing and creating the app.

``--profile`` instead profiles one 100,000-row preview + commit with cProfile (top 15 by cumulative time).
Prints progress to stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import cProfile
import csv
import io
import json
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.wallet import create_database, drop_database  # noqa: E402
from portal import create_app, demo, migrate  # noqa: E402
from portal.accounts.models import User  # noqa: E402
from portal.agencies.models import Agency  # noqa: E402
from portal.authz import Role  # noqa: E402
from portal.batches import services  # noqa: E402
from portal.batches.models import BatchStatus  # noqa: E402
from portal.batches.rows import COLUMNS  # noqa: E402
from portal.bills.models import Bill  # noqa: E402
from portal.wallet.factory import wallet_service  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
BIG_ROWS = int(os.environ.get("BENCH_BIG_ROWS", "500000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# The water company's bills before the uploads (as in bench/lookup.py), with the table ANALYZEd as
# autovacuum would soon do. BENCH_EXISTING=0 starts from the demo's few bills and their statistics: the
# first upload into an agency, where psycopg's prepared statement gets a generic plan that scans the
# agency's bills for each chunk's 2,000-value IN list (about 140 s for 100,000 rows instead of 10 s).
EXISTING = int(os.environ.get("BENCH_EXISTING", "100000"))
AGENCY = "water"
CLERK_EMAIL = "bench-clerk@water.demo.gov.cn"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉小红晓东海燕俊峰"
DESCRIPTIONS = ("居民生活用水", "居民生活用水（阶梯二档）", "污水处理费", "非居民用水", "二次供水服务费", "")


def csv_lines(rows: int, prefix: str, seed: int) -> Iterator[str]:
    """A bill file as the water company's billing system would export it, line by line."""
    rng = random.Random(seed)
    known = {column.key for column in COLUMNS}
    yield ",".join(column.zh for column in COLUMNS) + "\n"
    for n in range(rows):
        fen = rng.randint(500, 60_000)
        late = rng.choice((0, 0, 0, 0, 0, 0, 0, 0, rng.randint(1, 2_000), None))
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        values = {
            "bill_no": f"{prefix}-{n:07d}",
            "account_reference": str(3_100_000_000 + n * 37 % 899_999_999),
            "payer_name": rng.choice(SURNAMES) + given,
            "amount": f"{fen // 100}.{fen % 100:02d}",
            "late_fee": "" if late is None else ("0" if late == 0 else f"{late // 100}.{late % 100:02d}"),
            "due_date": f"2026-12-{rng.randint(1, 28):02d}",
            "period": "2026-11",
            "description": rng.choice(DESCRIPTIONS),
        }
        if n == 0 and not known <= values.keys():
            raise RuntimeError(f"columns new to this benchmark in rows.py: {known - values.keys()}")
        yield ",".join(values.get(column.key, "") for column in COLUMNS) + "\n"


def csv_bytes(rows: int, prefix: str, seed: int) -> bytes:
    """The file in UTF-8 (no BOM)."""
    return "".join(csv_lines(rows, prefix, seed)).encode("utf-8")


def setup(url: str) -> None:
    """Migrate, seed the demo, add a clerk of the water company and its existing bills; create the bare
    table COPY fills."""
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        demo.seed(session, wallet_service(session))
        agency = session.scalar(select(Agency).where(Agency.code == AGENCY))
        session.add(
            User(
                email=CLERK_EMAIL,
                password_hash="!bench: no login",  # noqa: S106 - never used to sign in
                role=Role.CLERK,
                agency_id=agency.id,
                display_name="批量上传测试员",
            )
        )
        for start in range(0, EXISTING, 10_000):
            session.execute(
                insert(Bill),
                [
                    {
                        "agency_id": agency.id,
                        "bill_no": f"W2610-{n:07d}",
                        "account_reference": str(3_100_000_000 + n * 37 % 899_999_999),
                        "payer_name": "张小三",
                        "description": "居民生活用水",
                        "period": "2026-10",
                        "amount_fen": 1_000 + n % 9_000,
                        "late_fee_fen": 0,
                    }
                    for n in range(start, min(start + 10_000, EXISTING))
                ],
            )
    database.dispose()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as connection:
        if EXISTING:
            connection.execute("VACUUM ANALYZE bills")
        connection.execute(
            "CREATE TABLE bench_copy_bills (bill_no text, account_reference text, payer_name text, "
            "amount text, late_fee text, due_date text, period text, description text)"
        )
        # Issue 24's anchor: the bills table's own shape (columns, defaults, checks, unique constraint,
        # indexes) and its foreign keys, filled by COPY with the same bills as typed values.
        connection.execute("CREATE TABLE bench_shaped_bills (LIKE bills INCLUDING ALL)")
        connection.execute(
            "ALTER TABLE bench_shaped_bills ADD FOREIGN KEY (agency_id) REFERENCES agencies (id), "
            "ADD FOREIGN KEY (batch_id) REFERENCES bill_batches (id)"
        )


def libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(url: str):
    """The portal app. Newer portal code hands files over BATCH_BACKGROUND_BYTES to the worker; the limit
    is raised above any file here, so preview and commit run in the request, as for a small file (the
    worker's jobs call the same check_rows / commit_now)."""
    return create_app({"DATABASE_URL": url, "BATCH_BACKGROUND_BYTES": 1 << 40})


def preview(session, clerk: User, agency: Agency, file_name: str, content: bytes):
    """The upload view's service call: services.upload (services.preview before it was renamed)."""
    step = getattr(services, "upload", None) or services.preview
    return step(session, clerk, agency, file_name, content)


def upload(app, content: bytes, file_name: str = "bills.csv") -> tuple[float, dict]:
    """preview + commit + the session's commit, as the upload and confirm views do; (seconds, counts)."""
    database = app.extensions["portal.db"]
    with app.test_request_context():
        session = database.sessionmaker()
        try:
            clerk = session.scalar(select(User).where(User.email == CLERK_EMAIL))
            agency = session.scalar(select(Agency).where(Agency.code == AGENCY))
            started = time.perf_counter()
            batch = preview(session, clerk, agency, file_name, content)
            if batch.rows_invalid:
                raise RuntimeError(f"{batch.rows_invalid} rows invalid: {batch.error_report[:500]}")
            batch = services.commit(session, clerk, agency, batch.upload_id)
            session.commit()
            seconds = time.perf_counter() - started
            if batch.status is not BatchStatus.COMMITTED:
                raise RuntimeError(f"the batch is {batch.status}, not committed")
            counts = {"new": batch.rows_new, "changed": batch.rows_changed, "unchanged": batch.rows_unchanged}
        finally:
            session.close()
    if counts["new"] + counts["changed"] + counts["unchanged"] != content.count(b"\n") - 1:
        raise RuntimeError(f"not every row was loaded: {counts}")
    return seconds, counts


def copy(dsn: str, content: bytes) -> float:
    with psycopg.connect(dsn) as connection:
        connection.execute("TRUNCATE bench_copy_bills")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY bench_copy_bills FROM STDIN WITH (FORMAT csv, HEADER true)") as stream,
        ):
            stream.write(content)
        connection.commit()
        seconds = time.perf_counter() - started
        copied = connection.execute("SELECT count(*) FROM bench_copy_bills").fetchone()[0]
    if copied != content.count(b"\n") - 1:
        raise RuntimeError(f"COPY loaded {copied} rows")
    return seconds


SHAPED_COLUMNS = (
    "agency_id, bill_no, account_reference, payer_name, description, period, amount_fen, late_fee_fen,"
    " due_date, status, created_at, batch_id"
)


def _fen(text: str) -> int:
    if not text:
        return 0
    yuan, _, cents = text.partition(".")
    return int(yuan) * 100 + int((cents + "00")[:2])


def shaped_rows(content: bytes, agency_id: int, batch_id: int) -> bytes:
    """The file's bills as the bills table holds them (fen, dates, status), in COPY's text format:
    made before the clock starts, so the anchor times the load alone."""
    reader = csv.reader(io.StringIO(content.decode("utf-8")))
    header = next(reader)
    keys = {column.key: header.index(column.zh) for column in COLUMNS if column.zh in header}
    out = io.StringIO()
    for row in reader:
        value = {key: row[index] for key, index in keys.items()}
        fields = (
            str(agency_id),
            value["bill_no"],
            value["account_reference"],
            value["payer_name"],
            value.get("description", ""),
            value.get("period", ""),
            str(_fen(value["amount"])),
            str(_fen(value.get("late_fee", ""))),
            value.get("due_date") or "\\N",
            "unpaid",
            "2026-12-08 00:00:00+00",
            str(batch_id),
        )
        out.write("\t".join(fields) + "\n")
    return out.getvalue().encode("utf-8")


def copy_shaped(dsn: str, rows: bytes) -> float:
    """COPY into the table of the bills' shape, committed: what the same bills cost PostgreSQL to load
    with the same constraints, foreign keys and indexes."""
    with psycopg.connect(dsn) as connection:
        connection.execute("TRUNCATE bench_shaped_bills")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY bench_shaped_bills ({SHAPED_COLUMNS}) FROM STDIN") as stream,
        ):
            stream.write(rows)
        connection.commit()
        seconds = time.perf_counter() - started
        copied = connection.execute("SELECT count(*) FROM bench_shaped_bills").fetchone()[0]
    if copied != rows.count(b"\n"):
        raise RuntimeError(f"COPY loaded {copied} rows")
    return seconds


def last_batch(dsn: str) -> tuple[int, int]:
    """The agency and id of the batch just committed: the shaped anchor's rows name them."""
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT agency_id, id FROM bill_batches ORDER BY id DESC LIMIT 1"
        ).fetchone()


def status_mb(field: str = "VmRSS") -> float:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM the peak of its own)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


# A process's ru_maxrss starts at the RSS of the memory it replaced at exec, and subprocess spawns with
# vfork, whose child execs from the PARENT's memory: any child of this process reports at least this
# process's peak so far. So the 500k child is started by this small launcher, itself started before this
# process grows (at the top of main); the launcher forks from its own few MB.
LAUNCHER = """
import json, subprocess, sys
line = sys.stdin.readline()
sys.exit(subprocess.run(json.loads(line)).returncode if line else 0)
"""


def child(url: str, path: str) -> None:
    """The 500,000-row upload in a process of its own; one JSON line on stdout."""
    app = make_app(url)
    baseline = status_mb()
    content = Path(path).read_bytes()
    seconds, counts = upload(app, content, "bills-500k.csv")
    app.extensions["portal.db"].dispose()
    print(
        json.dumps(
            {
                "baseline_mb": round(baseline, 1),
                "seconds": round(seconds, 2),
                "counts": counts,
                "vmhwm_mb": round(status_mb("VmHWM"), 1),
            }
        )
    )


def big_upload(url: str, directory: str, launcher: subprocess.Popen) -> dict:
    path = Path(directory) / "bills-500k.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        file.writelines(csv_lines(BIG_ROWS, "W2611-BIG", seed=500))
    size_mb = path.stat().st_size / 2**20
    print(f"{BIG_ROWS} rows ({size_mb:.1f} MiB): child process...", file=sys.stderr)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", url, str(path)]
    output, _ = launcher.communicate(json.dumps(command) + "\n")
    if launcher.returncode:
        raise RuntimeError(f"the 500k child failed ({launcher.returncode})")
    # The largest of every waited-for descendant: the launcher (a few MB, plus this process's RSS when
    # it was started, reported as launcher_floor_mb) and the child.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(output.strip().splitlines()[-1])
    print(f"  {report['seconds']:.2f} s, peak RSS {peak:.1f} MB", file=sys.stderr)
    return {
        "rows": BIG_ROWS,
        "file_mb": round(size_mb, 1),
        "seconds": report["seconds"],
        "peak_mem_mb": round(peak, 1),
        "child_vmhwm_mb": report["vmhwm_mb"],
        "baseline_mb": report["baseline_mb"],
    }


def profile(app, content: bytes) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _counts = upload(app, content)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    print(f"profiled preview+commit of {ROWS} rows: {seconds:.2f} s (with profiler)", file=sys.stderr)
    print(out.getvalue(), file=sys.stderr)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
        return
    launcher_floor_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    name = f"portal_batches_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    ours: list[float] = []
    anchor: list[float] = []
    shaped: list[float] = []
    try:
        setup(url)
        app = make_app(url)
        if "--profile" in sys.argv[1:]:
            profile(app, csv_bytes(ROWS, "W2611-PROF", seed=99))
            app.extensions["portal.db"].dispose()
            return
        file_mb = 0.0
        for run in range(RUNS):
            content = csv_bytes(ROWS, f"W2611-R{run}", seed=run)
            file_mb = len(content) / 2**20
            seconds, counts = upload(app, content)
            ours.append(seconds)
            anchor.append(copy(libpq_dsn(url), content))
            agency_id, batch_id = last_batch(libpq_dsn(url))
            shaped.append(copy_shaped(libpq_dsn(url), shaped_rows(content, agency_id, batch_id)))
            print(
                f"run {run}: ours {ours[-1]:.2f} s ({counts['new']} new), COPY {anchor[-1]:.3f} s,"
                f" COPY into the bills' shape {shaped[-1]:.3f} s",
                file=sys.stderr,
            )
        app.extensions["portal.db"].dispose()
        with tempfile.TemporaryDirectory() as directory:
            big = big_upload(url, directory, launcher)
    finally:
        if launcher.poll() is None:
            launcher.communicate("")  # an empty line: nothing to run, it exits
        drop_database(name)
    ours_s, copy_s = statistics.median(ours), statistics.median(anchor)
    print(
        json.dumps(
            {
                "benchmark": "bill_batch_upload_vs_copy",
                "backend": "postgresql",
                "rows": ROWS,
                "file_mb": round(file_mb, 2),
                "runs": RUNS,
                "existing_bills": EXISTING,
                "cpu_count": os.cpu_count(),
                "ours_runs_s": [round(s, 3) for s in ours],
                "copy_runs_s": [round(s, 3) for s in anchor],
                "ours_s": round(ours_s, 3),
                "copy_s": round(copy_s, 3),
                "ratio": round(ours_s / copy_s, 2),
                "shaped_copy_runs_s": [round(value, 3) for value in shaped],
                "shaped_copy_s": round(statistics.median(shaped), 3),
                "shaped_ratio": round(ours_s / statistics.median(shaped), 2),
                "shaped_ratio_target": 1.5,
                "big": big,
                "big_s": big["seconds"],
                "peak_mem_mb": big["peak_mem_mb"],
                "baseline_mb": big["baseline_mb"],
                "launcher_floor_mb": round(launcher_floor_mb, 1),
                "targets": {"ratio": 5, "peak_mem_mb": 300},
            }
        )
    )


if __name__ == "__main__":
    main()
