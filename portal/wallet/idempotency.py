"""Idempotent operations: each runs in a savepoint together with its key, once.

The same key with the same request returns the stored result and moves nothing; the same key with a
different request is a conflict; a deadlock or serialization failure rolls the savepoint back and runs
again with the same key; a refusal rolls back everything it did, so a retry is judged afresh.

Keys live in records (ledger_idempotency), except those of PostgreSQL's one-statement payments, which
live on their transfers (pg_payment.py); every operation looks in both places. Two unique indexes
cannot see each other's uncommitted rows, so on PostgreSQL every call also takes an advisory lock per
key (key_lock_id) before it looks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from portal.wallet.errors import IdempotencyConflict, WalletBusy, WalletError
from portal.wallet.models import Entry, IdempotencyRecord, Transfer
from portal.wallet.types import TransferResult, from_json, to_json

R = TypeVar("R")
IDEMPOTENCY = IdempotencyRecord.__table__
TRANSFERS = Transfer.__table__
ENTRIES = Entry.__table__
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
MAX_ATTEMPTS = 5


def retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in RETRYABLE_SQLSTATES or "database is locked" in str(error.orig)


def valid_key(key: object) -> bool:
    return isinstance(key, str) and 8 <= len(key) <= 128 and key.isprintable()


def key_lock_id(client: str, key: str) -> int:
    """The advisory lock of one idempotency key on PostgreSQL, taken before the wallet's row locks and
    held until the transaction ends: calls with the same key wait for each other, then find the key
    wherever the first one stored it."""
    digest = hashlib.blake2b(f"{client}\n{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def request_digest(operation: str, request: dict[str, Any]) -> str:
    """The fingerprint of a request, stored with its idempotency key."""
    return hashlib.sha256(
        json.dumps({"operation": operation, **request}, sort_keys=True, default=str).encode()
    ).hexdigest()


class IdempotentOperations:
    """Mixed into WalletService: needs ``session``, ``client`` and ``clock``."""

    session: Session
    client: str
    clock: Any

    def _once(self, operation: str, key: str, request: dict[str, Any], result_type: type[R], work) -> R:
        if not valid_key(key):
            raise WalletError("idempotency_conflict")
        digest = request_digest(operation, request)
        for attempt in range(MAX_ATTEMPTS):
            savepoint = self.session.begin_nested()
            try:
                record_id, stored = self._claim(operation, key, digest)
                if stored is not None:
                    request_hash, result_json = stored
                    if request_hash != digest or result_json is None:
                        raise IdempotencyConflict()
                    savepoint.commit()
                    return dataclasses.replace(from_json(result_type, json.loads(result_json)), replayed=True)
                result = work()
                self.session.flush()  # ORM changes of the work go out before the result is stored
                self.session.execute(
                    update(IDEMPOTENCY)
                    .where(IDEMPOTENCY.c.id == record_id)
                    .values(result_json=json.dumps(to_json(result)))
                )
                savepoint.commit()
                return result
            except DBAPIError as error:
                savepoint.rollback()
                if not retryable(error):
                    raise
                if attempt == MAX_ATTEMPTS - 1:
                    raise WalletBusy() from error
                time.sleep(0.01 * 2**attempt)
            except BaseException:
                savepoint.rollback()
                raise
        raise WalletBusy()

    def _claim(
        self, operation: str, key: str, digest: str
    ) -> tuple[int | None, tuple[str, str | None] | None]:
        """Insert the key, or return (None, (hash, result)) of the one already there. On PostgreSQL a
        concurrent insert of the same key waits here until the first transaction ends, then sees its
        stored result."""
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":  # a one-statement payment may hold the key: wait for it, then look
            self.session.execute(select(func.pg_advisory_xact_lock(key_lock_id(self.client, key))))
            folded = self._key_on_transfer(key)
            if folded is not None:
                return None, folded
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        new_id = self.session.execute(
            insert(IDEMPOTENCY)
            .values(
                client=self.client, key=key, operation=operation, request_hash=digest, created_at=self.clock()
            )
            .on_conflict_do_nothing(index_elements=["client", "key"])
            .returning(IDEMPOTENCY.c.id)
        ).scalar()
        if new_id is not None:
            return new_id, None
        stored = self.session.execute(
            select(IDEMPOTENCY.c.request_hash, IDEMPOTENCY.c.result_json).where(
                IDEMPOTENCY.c.client == self.client, IDEMPOTENCY.c.key == key
            )
        ).one()
        return None, (stored.request_hash, stored.result_json)

    def _key_on_transfer(self, key: str) -> tuple[str, str] | None:
        """(hash, result) of a one-statement payment that holds this key: its result is rebuilt from the
        transfer and the wallet's entry, which are immutable, so a replay returns what the first call did."""
        row = self.session.execute(
            select(
                TRANSFERS.c.reference,
                TRANSFERS.c.amount_fen,
                TRANSFERS.c.created_at,
                TRANSFERS.c.request_hash,
                ENTRIES.c.balance_after_fen,
            )
            .join(ENTRIES, (ENTRIES.c.transfer_id == TRANSFERS.c.id) & (ENTRIES.c.amount_fen < 0))
            .where(TRANSFERS.c.idempotency_client == self.client, TRANSFERS.c.idempotency_key == key)
        ).first()
        if row is None:
            return None
        result = TransferResult(
            reference=row.reference,
            kind="payment",
            amount_fen=row.amount_fen,
            wallet_balance_fen=row.balance_after_fen,
            created_at=row.created_at,
        )
        return row.request_hash, json.dumps(to_json(result))
