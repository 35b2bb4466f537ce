"""The background worker: jobs by outbox topic (agency confirmations and refunds, receipt rendering,
large bill batches, notices to residents) and the periodic scans (bills falling due, late agency
confirmations, auto-pay). `flask --app portal outbox run` does both; several workers may run at once."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from flask import current_app

from portal.batches import jobs as batch_jobs
from portal.db import Database, utcnow
from portal.notify import delivery as notices
from portal.notify import scans
from portal.payments import delivery, outbox
from portal.promotions import autopay

HANDLERS = {**delivery.HANDLERS, **batch_jobs.HANDLERS, **notices.HANDLERS}
log = logging.getLogger("portal.worker")


def scan(database: Database, now: datetime | None = None) -> dict[str, int]:
    """One pass of every scan. Reminders come first, and auto-pay only pays bills reminded in an
    earlier pass, so a resident always hears of a bill before it is paid."""
    now = now or utcnow()
    counts = {
        "reminders": scans.remind(database, now),
        "delays": scans.confirmation_delays(database, now),
        "autopay": autopay.run(database, now),
    }
    log.info("scan: %s", counts)
    return counts


def run(database: Database, *, once: bool = False) -> int:
    """Scan every WORKER_SCAN_SECONDS and deliver due outbox messages in between; with once, one scan
    and the messages due after it. Returns how many messages were delivered."""
    delivered, last_scan = 0, 0.0
    while True:
        if time.monotonic() - last_scan >= current_app.config["WORKER_SCAN_SECONDS"] or once:
            try:
                scan(database)
            except Exception:  # a failing scan must not stop agency confirmations, receipts and notices
                log.exception("scan failed; deliveries go on and the next scan tries again")
            last_scan = time.monotonic()
        delivered += outbox.run(database, HANDLERS, once=True)
        if once:
            return delivered
        time.sleep(current_app.config["OUTBOX_POLL_SECONDS"])
