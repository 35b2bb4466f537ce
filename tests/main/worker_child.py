"""An outbox worker started as `flask outbox run` is, with one extra topic whose handler takes two
seconds and touches a file when it begins: test_worker_stop sends SIGTERM while it runs."""

import sys
import time
from pathlib import Path

from portal import create_app, worker
from tests.conftest import make_config


def slow(_database, payload):
    Path(payload["started"]).touch()
    time.sleep(2)
    return lambda session: None


app = create_app(make_config(sys.argv[1], RATELIMIT_ENABLED=False, WORKER_SCAN_SECONDS=3600))
worker.HANDLERS["test.slow"] = slow
result = app.test_cli_runner().invoke(args=["outbox", "run"])
print(result.output, end="")
app.extensions["portal.db"].dispose()
sys.exit(result.exit_code)
