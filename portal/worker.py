"""The background worker: jobs by outbox topic (agency confirmations and refunds, receipt rendering,
large bill batches, notices to residents) and the periodic scans (bills falling due, late agency
confirmations, auto-pay). `flask --app portal outbox run` does both; several workers may run at once.

SIGTERM (or Ctrl-C) stops a worker cleanly: it finishes the message in hand, hands back the others it
had claimed, removes its heartbeat and exits 0. A worker killed outright leaves its claimed messages
locked until their lease runs out; another worker then takes them, and agencies dedupe by payment id."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime

from flask import current_app

from portal import outbox, wiring
from portal.analytics import rollup
from portal.autopay import paying, reminders
from portal.db import Database, database_away, utcnow
from portal.disputes import services as disputes
from portal.main import health
from portal.notify import scans

HANDLERS = wiring.OUTBOX_HANDLERS
log = logging.getLogger("portal.worker")
RETRY_SECONDS = 2  # a database that restarts is usually back within seconds


def scan(database: Database, now: datetime | None = None) -> dict[str, int]:
    """One pass of every scan. Reminders come first, and auto-pay only pays bills reminded in an
    earlier pass, so a resident always hears of a bill before it is paid."""
    now = now or utcnow()
    counts = {
        "reminders": reminders.remind(database, now),
        "delays": scans.confirmation_delays(database, now),
        "autopay": paying.run(database, now),
        "disputes_closed": disputes.close_expired(database, now),
        "analytics_days": rollup.keep_up(database, now),
    }
    log.info("scan: %s", counts)
    return counts


def run(database: Database, *, once: bool = False, stop: threading.Event | None = None) -> int:
    """Scan every WORKER_SCAN_SECONDS and deliver due outbox messages in between, until ``stop`` is set;
    with once, one scan and the messages due after it. Returns how many messages were delivered."""
    stop = stop or threading.Event()
    config = current_app.config
    name = f"{socket.gethostname()}:{os.getpid()}"
    delivered, last_scan, last_beat = 0, 0.0, 0.0
    try:
        while not stop.is_set():
            if time.monotonic() - last_beat >= config["WORKER_HEARTBEAT_SECONDS"]:
                last_beat = _beat(database, name, last_beat)
            if time.monotonic() - last_scan >= config["WORKER_SCAN_SECONDS"] or once:
                try:
                    scan(database)
                except Exception:  # a failing scan must not stop agency confirmations, receipts and notices
                    log.exception("scan failed; deliveries go on and the next scan tries again")
                last_scan = time.monotonic()
            try:
                delivered += outbox.run(database, HANDLERS, once=True, stop=stop)
            except Exception as error:  # never a dead worker: what it held is retried after the lease
                if not database_away(error):
                    raise
                log.warning("database away (%s); the worker tries again shortly", type(error).__name__)
                stop.wait(RETRY_SECONDS)
            if once:
                break
            stop.wait(config["OUTBOX_POLL_SECONDS"])
    finally:
        health.forget(database, name)
    return delivered


def _beat(database: Database, name: str, last_beat: float) -> float:
    try:
        health.beat(database, name)
    except Exception:  # the database is away: deliveries fail and retry too; the worker carries on
        log.warning("worker %s could not write its heartbeat", name)
        return last_beat
    return time.monotonic()
