"""A circuit breaker per remote agency, so a dead agency is not called on every page view.

Closed: calls go through. After ``threshold`` failures in a row it opens: calls are refused at once for
``reset_seconds``. Then one trial call is let through (half-open): success closes it, failure opens it
again. State is per process, which is enough to spare a dead agency the traffic of each worker.
``on_change`` hears every change of state (CLOSED, HALF_OPEN, OPEN), for the metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, HALF_OPEN, OPEN = 0, 1, 2


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 3,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] | None = None,
    ):
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.on_change = on_change
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    @property
    def state(self) -> int:
        """OPEN until its trial call goes out (it does not turn half-open by time alone)."""
        if self._opened_at is None:
            return CLOSED
        return HALF_OPEN if self._trial_running else OPEN

    def _changed(self, before: int) -> None:
        if self.on_change is not None and self.state != before:
            self.on_change(self.state)

    def allow(self) -> bool:
        """May a call go out now?"""
        with self._lock:
            if self._opened_at is None:
                return True
            if self.clock() - self._opened_at < self.reset_seconds or self._trial_running:
                return False
            self._trial_running = True  # half-open: exactly one trial
            self._changed(OPEN)
            return True

    def record_success(self) -> None:
        with self._lock:
            before = self.state
            self._failures, self._opened_at, self._trial_running = 0, None, False
            self._changed(before)

    def record_failure(self) -> None:
        with self._lock:
            before = self.state
            self._failures += 1
            self._trial_running = False
            if self._opened_at is not None or self._failures >= self.threshold:
                self._opened_at = self.clock()
            self._changed(before)
