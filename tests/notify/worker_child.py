"""One worker process for test_two_workers: a barrier file, then one pass of the worker (scans and
deliveries); prints the recipients its notifier was handed, as JSON."""

import json
import sys
import time
from pathlib import Path

from portal import create_app
from tests.conftest import make_config

url, go_file = sys.argv[1], Path(sys.argv[2])
app = create_app(make_config(url, RATELIMIT_ENABLED=False))
app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "two-water": {"adapter": "local"}}
while not go_file.exists():  # both processes are started and connected before either scans
    time.sleep(0.01)
with app.app_context():
    from portal import worker

    worker.run(app.extensions["portal.db"], once=True)
    print(json.dumps([m.recipient for m in app.extensions["portal.notifier"].messages()]))
app.extensions["portal.db"].dispose()
