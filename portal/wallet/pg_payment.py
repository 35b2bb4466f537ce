"""A payment to one agency on PostgreSQL in ONE statement: the wallet row is locked only if it passes
every rule (not frozen, no holds to reckon with, funds, per-payment and daily limits of its tier), and
the transfer, the wallet debit, the agency credit and the entries hang off it.

The idempotency key is stored on the transfer itself, so a payment writes one row fewer than with a
record of its own. Calls with the same key run one after another (the key's advisory lock), and the
unique index on (client, key) lets only one transfer hold it. When the statement moves nothing (a rule
refused, the wallet has holds, the agency or the wallet is unknown, or the key is taken) the caller
falls back to the general path, which finds out why and says so, or replays the stored payment. So
this is purely a fast path: the general path defines the behaviour, and the contract and
state-machine tests run both (PostgreSQL and SQLite legs).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from portal.wallet.errors import SpoiltTransaction
from portal.wallet.idempotency import key_lock_id
from portal.wallet.ledger import expire_cached_accounts, new_reference
from portal.wallet.types import TransferResult

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

# s: the wallet, locked, passing every rule on its newest version (a concurrent payment is waited for
#    and the rules checked again), with the agency known and no record holding the key (the function
#    first takes the key's lock, idempotency.key_lock_id, so it waits for calls in flight with it).
# t: the transfer with the key, unless a payment already holds it: then nothing below runs.
# w: the debit of the row s locked: the rules still hold, no one else could change it.
_PAYMENT_SQL = """
WITH s AS (
    SELECT id FROM ledger_accounts
     WHERE kind = 'resident_wallet' AND owner_ref = :owner AND {RULES}
       AND EXISTS (SELECT 1 FROM ledger_accounts WHERE kind = 'agency_settlement' AND owner_ref = :agency)
       AND ledger_key_free_of_records(:lock_id, :client, :key)
       FOR NO KEY UPDATE
), t AS (
    INSERT INTO ledger_transfers (reference, kind, amount_fen, description, actor, created_at,
                                  idempotency_client, idempotency_key, request_hash)
    SELECT :reference, 'payment', :total, :description, :actor, :now, :client, :key, :digest FROM s
    ON CONFLICT (idempotency_client, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
), w AS (
    UPDATE ledger_accounts AS account
       SET balance_fen = balance_fen - :total,
           spent_day_fen = CASE WHEN spent_day = :today THEN spent_day_fen ELSE 0 END + :total,
           spent_day = :today
      FROM s
     WHERE account.id = s.id AND EXISTS (SELECT 1 FROM t)
    RETURNING account.id, account.balance_fen
), a AS (
    UPDATE ledger_accounts SET balance_fen = balance_fen + :total
     WHERE kind = 'agency_settlement' AND owner_ref = :agency AND EXISTS (SELECT 1 FROM w)
    RETURNING id, balance_fen
), e AS (
    INSERT INTO ledger_entries (transfer_id, account_id, amount_fen, balance_after_fen, created_at)
    SELECT t.id, w.id, -CAST(:total AS bigint), w.balance_fen, :now FROM t, w
    UNION ALL
    SELECT t.id, a.id, :total, a.balance_fen, :now FROM t, a
)
SELECT (SELECT id FROM t) AS transfer_id,
       (SELECT balance_fen FROM w) AS wallet_balance,
       (SELECT balance_fen FROM a) AS agency_balance
"""
# RULES is a constant SQL fragment of this module; every value is a bound parameter.
PAYMENT_STATEMENT = text(_PAYMENT_SQL.format(RULES=RULES)).bindparams(  # nosec B608
    bindparam("total", type_=BigInteger)
)


def pay_in_one_statement(
    session: Session,
    *,
    client: str,
    key: str,
    digest: str,
    owner: str,
    agency: str,
    amount_fen: int,
    description: str,
    now: datetime,
    today: str,
    limits: dict[str, dict[str, int]],
) -> TransferResult | None:
    """The payment's result, or None when the general path must decide (nothing was changed then).

    No savepoint: the statement does everything or nothing. A failure of it spoils the caller's
    transaction, which is why the caller turns database errors into SpoiltTransaction.
    """
    reference = new_reference("T")
    params = {
        "total": amount_fen,
        "today": today,
        "owner": owner,
        "agency": agency,
        "reference": reference,
        "description": description[:200],
        "actor": client[:64],
        "now": now,
        "client": client,
        "key": key,
        "digest": digest,
        "lock_id": key_lock_id(client, key),
        **{f"pp_{name}": limits[tier]["per_payment_fen"] for name, tier in _TIERS.items()},
        **{f"pd_{name}": limits[tier]["per_day_fen"] for name, tier in _TIERS.items()},
    }
    row = session.connection().execute(PAYMENT_STATEMENT, params).one()  # Core: no ORM bookkeeping
    if row.transfer_id is None:
        return None
    if row.wallet_balance is None or row.agency_balance is None:
        # Cannot happen while s holds the wallet's lock and found the agency (agency accounts are never
        # deleted); if it did, the deferred balance trigger would refuse the commit anyway, so say so now.
        raise SpoiltTransaction("payment statement wrote a transfer it could not balance")
    expire_cached_accounts(session)
    return TransferResult(
        reference=reference,
        kind="payment",
        amount_fen=amount_fen,
        wallet_balance_fen=row.wallet_balance,
        created_at=now,
    )


_TIERS = {"basic": "basic", "verified": "id_verified", "card": "id_and_card"}
