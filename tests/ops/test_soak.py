"""The short variant of `make soak` (bench/soak.py): two gunicorn servers, two outbox workers, the
sandbox agency with faults and a PostgreSQL cluster of its own, with kills and a PostgreSQL restart;
the suite fails on any lost or duplicated operation, a broken ledger or audit chain, or a 500."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def postgres_leg(request):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("the soak runs on PostgreSQL only (it restarts a cluster of its own)")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not shutil.which("runuser"):
        pytest.skip("initdb and runuser are needed to start a throwaway cluster")


def test_a_short_soak_with_kills_loses_nothing_and_does_nothing_twice(postgres_leg):
    env = {
        **os.environ,
        "SOAK_SECONDS": "25",
        "SOAK_RESIDENTS": "8",
        "SOAK_CHAOS_SECONDS": "3",
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "bench/soak.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])

    assert result["lost"] == 0 and result["duplicated"] == 0, run.stderr[-3000:]
    assert result["verify_clean"] and result["money_balanced"], result
    assert result["http_500_outside_kills"] == 0 and result["outbox_pending_after_drain"] == 0, result
    assert result["kills"] >= 3 and result["faults"].get("postgres restart") == 1, result
    assert result["payments_seen_by_clients"] > 0 and result["agency_confirmations_missing"] == 0, result
    assert run.returncode == 0
