"""The wallet: a double-entry ledger with limits, holds and idempotency, and its JSON API and pages."""
