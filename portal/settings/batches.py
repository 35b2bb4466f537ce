"""Clerks' bill batches: how large a file may be, how many rows, and when the worker takes it over."""

from __future__ import annotations

from collections.abc import Mapping

from portal.settings.environment import env_int


class BatchSettings:
    """Mixed into Config."""

    def _read_batches(self, env: Mapping[str, str]) -> None:
        # Clerks' bill batches: size and row limits; an .xlsx may unpack to at most this much.
        self.BATCH_MAX_BYTES = env_int(env, "BATCH_MAX_BYTES", 50 * 1024 * 1024)
        self.BATCH_MAX_ROWS = env_int(env, "BATCH_MAX_ROWS", 500_000)
        self.BATCH_MAX_UNCOMPRESSED_BYTES = env_int(env, "BATCH_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024)
        self.MAX_CONTENT_LENGTH = self.BATCH_MAX_BYTES + 1024 * 1024  # the largest request at all
        # Files larger than this are checked and loaded by the worker while the page shows progress.
        self.BATCH_BACKGROUND_BYTES = env_int(env, "BATCH_BACKGROUND_BYTES", 2 * 1024 * 1024)
