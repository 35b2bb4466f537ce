"""/readyz says whether this process can do its work, and why not; the outbox worker stops cleanly on
SIGTERM and leaves a heartbeat /readyz reads while it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from portal import outbox
from portal.db import utcnow
from portal.main.health import newest_revision
from portal.main.models import WorkerHeartbeat
from portal.outbox import OutboxMessage, OutboxState

ROOT = Path(__file__).resolve().parents[2]


def ready(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.get_json()


def test_ready_with_the_newest_schema_and_a_worker_seen_lately(client, db):
    db.add(WorkerHeartbeat(name="worker-a:1", seen_at=utcnow() - timedelta(seconds=5)))
    db.flush()

    status, body = ready(client)

    assert status == 200
    assert body == {"status": "ready", "database": "ok", "schema": "ok", "worker": "ok"}


def test_not_ready_before_any_worker_ran(client, db):
    status, body = ready(client)

    assert status == 503 and body["status"] == "unavailable"
    assert body["worker"] == "no outbox worker has run" and body["schema"] == "ok"


def test_not_ready_when_every_worker_went_quiet(app, client, db):
    quiet = app.config["READY_WORKER_STALE_SECONDS"] + 30
    db.add(WorkerHeartbeat(name="worker-a:1", seen_at=utcnow() - timedelta(seconds=quiet)))
    db.flush()

    status, body = ready(client)

    assert status == 503 and body["worker"].startswith("no outbox worker seen for")


def test_not_ready_when_the_schema_is_behind_the_migrations(client, db):
    db.add(WorkerHeartbeat(name="worker-a:1"))
    db.execute(text("UPDATE alembic_version SET version_num = '0020'"))
    db.flush()

    status, body = ready(client)

    assert status == 503 and body["schema"] == f"at 0020, newest is {newest_revision()}: run flask db upgrade"


def test_not_ready_without_a_database_but_still_alive(tmp_path):
    from portal import create_app
    from tests.conftest import make_config

    app = create_app(make_config(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"))
    client = app.test_client()

    status, body = ready(client)

    assert status == 503 and body["database"] == "unavailable"
    assert client.get("/healthz").status_code == 200
    app.extensions["portal.db"].dispose()


@pytest.fixture
def committed(make_database):
    from portal import create_app
    from tests.conftest import make_config

    url = make_database()
    app = create_app(make_config(url, RATELIMIT_ENABLED=False))
    yield app, url
    app.extensions["portal.db"].dispose()


def test_sigterm_finishes_the_message_in_hand_hands_back_the_rest_and_exits_0(committed, tmp_path):
    app, url = committed
    started = tmp_path / "started"
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        for n in range(2):
            outbox.enqueue(session, "test.slow", f"slow:{n}", {"started": str(started)})
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.main.worker_child", url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with database.sessionmaker() as session:
        alive = session.scalar(select(func.count()).select_from(WorkerHeartbeat))

    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=30)

    assert child.returncode == 0 and "1 messages delivered; stopped on request" in out
    assert alive == 1  # it wrote its heartbeat while it ran ...
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(WorkerHeartbeat)) == 0  # ... and took it away
        messages = {m.dedupe_key: m for m in session.scalars(select(OutboxMessage))}
    assert messages["slow:0"].state is OutboxState.DELIVERED  # the one in hand was finished
    assert messages["slow:1"].state is OutboxState.PENDING and messages["slow:1"].locked_until is None
    assert json.loads(messages["slow:1"].payload_json) == {"started": str(started)}
