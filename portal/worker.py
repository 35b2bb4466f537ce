"""The background worker's jobs, by outbox topic: agency confirmations and refunds, receipt rendering,
large bill batches. `flask --app portal outbox run` drains them."""

from __future__ import annotations

from portal.batches import jobs as batch_jobs
from portal.payments import delivery

HANDLERS = {**delivery.HANDLERS, **batch_jobs.HANDLERS}
