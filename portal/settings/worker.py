"""The outbox and the worker: retries and leases, heartbeats, its scans, and how messages reach residents."""

from __future__ import annotations

from collections.abc import Mapping

from portal.settings.environment import env_int


class WorkerSettings:
    """Mixed into Config."""

    def _read_worker(self, env: Mapping[str, str]) -> None:
        # Outbox to agencies: retries back off from the base delay (doubling) for this long, then a
        # message turns dead and waits for an operator's resend.
        self.OUTBOX_GIVE_UP_SECONDS = env_int(env, "OUTBOX_GIVE_UP_SECONDS", 3 * 24 * 3600)
        self.OUTBOX_BACKOFF_BASE_SECONDS = env_int(env, "OUTBOX_BACKOFF_BASE_SECONDS", 30)
        self.OUTBOX_POLL_SECONDS = env_int(env, "OUTBOX_POLL_SECONDS", 1)
        # How long a claimed message stays a worker's: a worker killed outright holds it this long.
        self.OUTBOX_LEASE_SECONDS = env_int(env, "OUTBOX_LEASE_SECONDS", 120)
        # The worker's scans (portal/worker.py): how often, and when residents hear of a bill falling due
        # (Beijing days before it), auto-pay pays it, and a late agency confirmation is told.
        self.WORKER_SCAN_SECONDS = env_int(env, "WORKER_SCAN_SECONDS", 300)
        # Each worker writes a heartbeat this often; /readyz fails when none is younger than the limit.
        self.WORKER_HEARTBEAT_SECONDS = env_int(env, "WORKER_HEARTBEAT_SECONDS", 10)
        self.READY_WORKER_STALE_SECONDS = env_int(env, "READY_WORKER_STALE_SECONDS", 60)
        self.REMINDER_DAYS_BEFORE = env_int(env, "REMINDER_DAYS_BEFORE", 3)
        self.AUTOPAY_DAYS_BEFORE = env_int(env, "AUTOPAY_DAYS_BEFORE", 1)
        # ...and no sooner than this long after its reminder, so a resident can still stop it.
        self.AUTOPAY_NOTICE_MINUTES = env_int(env, "AUTOPAY_NOTICE_MINUTES", 60)
        self.CONFIRMATION_DELAY_MINUTES = env_int(env, "CONFIRMATION_DELAY_MINUTES", 60)
        # How messages reach residents (portal/notify): "development" = the log and /dev/outbox only.
        self.NOTIFIER = env.get("NOTIFIER") or "development"
