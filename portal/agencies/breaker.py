"""A circuit breaker per remote agency, so a dead agency is not called on every page view.

Closed: calls go through. After ``threshold`` failures in a row it opens: calls are refused at once for
``reset_seconds``. Then one trial call is let through (half-open): success closes it, failure opens it
again. State is per process, which is enough to spare a dead agency the traffic of each worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self, threshold: int = 3, reset_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        """May a call go out now?"""
        with self._lock:
            if self._opened_at is None:
                return True
            if self.clock() - self._opened_at < self.reset_seconds or self._trial_running:
                return False
            self._trial_running = True  # half-open: exactly one trial
            return True

    def record_success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_running = False
            if self._opened_at is not None or self._failures >= self.threshold:
                self._opened_at = self.clock()
