"""Audit log: events are written in the same transaction as what they record (the hash chain over
them arrives with the back office)."""
