"""The hash of an audit entry covers its place in the chain, its contents and the hash of the entry
before it: changing, removing or swapping any entry breaks the chain from there on."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime


def entry_hash(
    seq: int, at: datetime, actor: str, action: str, subject: str, details_json: str, prev_hash: str
) -> str:
    canonical = json.dumps(
        [seq, at.isoformat(), actor, action, subject, details_json, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


HASHED_FIELDS = ("seq", "at", "actor", "action", "subject", "details_json", "prev_hash")


def hash_of(event) -> str:
    """The hash an AuditEvent (or a row with the same fields) should carry."""
    return entry_hash(*(getattr(event, name) for name in HASHED_FIELDS))
