"""A payment on PostgreSQL in ONE statement: the conditional UPDATE of the wallet carries every rule
(not frozen, no holds to reckon with, funds, per-payment and daily limits of its tier), and the
agency credits, transfer, entries and idempotency record hang off its RETURNING row.

When the statement moves nothing (a rule refused, the wallet has holds, an agency or the wallet is
unknown, or the idempotency key already exists) the caller falls back to the general path, which finds
out why and says so. So this is purely a fast path: the general path defines the behaviour, and the
contract and state-machine tests run both (PostgreSQL leg and SQLite leg).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, String

from portal.wallet.errors import SpoiltTransaction
from portal.wallet.ledger import expire_cached_accounts, new_reference
from portal.wallet.models import IdempotencyRecord
from portal.wallet.types import TransferResult, to_json

RULES = """
       NOT is_frozen AND held_fen = 0
       AND balance_fen >= :total
       AND :total
           <= CASE tier WHEN 'id_and_card' THEN :pp_card WHEN 'id_verified' THEN :pp_verified
                   ELSE :pp_basic END
       AND CASE WHEN spent_day = :today THEN spent_day_fen ELSE 0 END + :total
           <= CASE tier WHEN 'id_and_card' THEN :pd_card WHEN 'id_verified' THEN :pd_verified
                   ELSE :pd_basic END
"""

# s: the wallet as this statement's snapshot sees it, passing every rule, with every agency known.
# i: the idempotency key, stored only then; a concurrent request with the same key waits here for the
#    first one's transaction and then stores nothing.
# w: the wallet debit, only when the key was stored, re-checking every rule on the locked, newest row.
PAYMENT_STATEMENT = text(
    f"""
WITH s AS (
    SELECT id, balance_fen FROM ledger_accounts
     WHERE kind = 'resident_wallet' AND owner_ref = :owner AND {RULES}
       AND (SELECT count(*) FROM ledger_accounts
             WHERE kind = 'agency_settlement' AND owner_ref = ANY(:agencies)) = :agency_count
), i AS (
    INSERT INTO ledger_idempotency (client, key, operation, request_hash, result_json, created_at)
    SELECT :client, :key, 'pay', :digest,
           json_build_object(
               'reference', CAST(:reference AS text), 'kind', 'payment', 'amount_fen', CAST(:total AS bigint),
               'wallet_balance_fen', s.balance_fen - :total, 'created_at', CAST(:now_iso AS text),
               'replayed', false
           )::text,
           :now
      FROM s
    ON CONFLICT (client, key) DO NOTHING
    RETURNING id
), w AS (
    UPDATE ledger_accounts
       SET balance_fen = balance_fen - :total,
           spent_day_fen = CASE WHEN spent_day = :today THEN spent_day_fen ELSE 0 END + :total,
           spent_day = :today
     WHERE kind = 'resident_wallet' AND owner_ref = :owner AND {RULES}
       AND EXISTS (SELECT 1 FROM i)
    RETURNING id, balance_fen
), a AS (
    UPDATE ledger_accounts AS account
       SET balance_fen = account.balance_fen + x.amount
      FROM unnest(:agencies, :amounts) AS x(owner, amount), w
     WHERE account.kind = 'agency_settlement' AND account.owner_ref = x.owner
    RETURNING account.id, account.balance_fen, x.amount
), t AS (
    INSERT INTO ledger_transfers (reference, kind, amount_fen, description, actor, created_at)
    SELECT :reference, 'payment', :total, :description, :actor, :now FROM w
    RETURNING id
), e AS (
    INSERT INTO ledger_entries (transfer_id, account_id, amount_fen, balance_after_fen, created_at)
    SELECT t.id, w.id, -CAST(:total AS bigint), w.balance_fen, :now FROM t, w
    UNION ALL
    SELECT t.id, a.id, a.amount, a.balance_fen, :now FROM t, a
)
SELECT (SELECT id FROM i) AS key_id,
       (SELECT balance_fen - :total FROM s) AS predicted_balance,
       (SELECT balance_fen FROM w) AS wallet_balance,
       (SELECT count(*) FROM a) AS agencies_paid
"""
).bindparams(
    bindparam("agencies", type_=ARRAY(String)),
    bindparam("amounts", type_=ARRAY(BigInteger)),
    bindparam("total", type_=BigInteger),
    bindparam("agency_count", type_=BigInteger),
)
IDEMPOTENCY = IdempotencyRecord.__table__


def pay_in_one_statement(
    session: Session,
    *,
    client: str,
    key: str,
    digest: str,
    owner: str,
    amounts: dict[str, int],
    description: str,
    now: datetime,
    today: str,
    limits: dict[str, dict[str, int]],
) -> TransferResult | None:
    """The payment's result, or None when the general path must decide (nothing was changed then).

    No savepoint: the statement either does everything or nothing, except when the snapshot passed
    the rules but the locked row did not (a concurrent payment got there first); then the key row it
    stored is deleted again before falling back.
    """
    total = sum(amounts.values())
    reference = new_reference("T")
    params = {
        "total": total,
        "today": today,
        "owner": owner,
        "agencies": list(amounts),
        "amounts": list(amounts.values()),
        "agency_count": len(amounts),
        "reference": reference,
        "description": description[:200],
        "actor": client[:64],
        "now": now,
        "now_iso": now.isoformat(),
        "client": client,
        "key": key,
        "digest": digest,
        **{f"pp_{name}": limits[tier]["per_payment_fen"] for name, tier in _TIERS.items()},
        **{f"pd_{name}": limits[tier]["per_day_fen"] for name, tier in _TIERS.items()},
    }
    row = session.connection().execute(PAYMENT_STATEMENT, params).one()  # Core: no ORM bookkeeping
    if row.key_id is None:
        return None
    if row.wallet_balance is None:
        session.execute(delete(IDEMPOTENCY).where(IDEMPOTENCY.c.id == row.key_id))
        return None
    if row.agencies_paid != len(amounts):
        # Agencies were counted in this very statement; if one vanished, the caller must roll back
        # (the deferred balance trigger would refuse the commit anyway).
        raise SpoiltTransaction("payment statement credited fewer agencies than it debited")
    result = TransferResult(
        reference=reference,
        kind="payment",
        amount_fen=total,
        wallet_balance_fen=row.wallet_balance,
        created_at=now,
    )
    if row.wallet_balance != row.predicted_balance:
        # Another payment on this wallet committed between snapshot and lock: store the true balance.
        session.execute(
            update(IDEMPOTENCY)
            .where(IDEMPOTENCY.c.id == row.key_id)
            .values(result_json=json.dumps(to_json(result)))
        )
    expire_cached_accounts(session)
    return result


_TIERS = {"basic": "basic", "verified": "id_verified", "card": "id_and_card"}
