"""Where a payment's idempotency key is kept: on PostgreSQL a payment to one agency keeps it on its
transfer (pg_payment.py, one row fewer); every other call keeps a record. Every operation looks in both."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select, text

from portal import create_app, migrate
from portal.wallet.errors import IdempotencyConflict
from portal.wallet.factory import wallet_service
from portal.wallet.models import IdempotencyRecord, Transfer
from portal.wallet.types import PaymentLeg, TransferResult, from_json
from tests.conftest import make_config
from tests.wallet.conftest import CARD, key, unique


def funded(wallet, amount_fen: int = 10_000) -> tuple[str, str]:
    owner, code = unique("user"), unique("water").split(":")[1]
    wallet.open_agency_account(code)
    wallet.open_wallet(owner)
    card = wallet.link_card(owner, CARD).reference
    wallet.top_up(owner, amount_fen, card=card, idempotency_key=key())
    return owner, f"agency:{code}"


def key_holders(db, same: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(client, key) of the transfers holding the key, and the clients of records holding it."""
    transfers = db.execute(
        select(Transfer.idempotency_client, Transfer.idempotency_key).where(Transfer.idempotency_key == same)
    ).all()
    records = db.scalars(select(IdempotencyRecord.client).where(IdempotencyRecord.key == same)).all()
    return [tuple(row) for row in transfers], list(records)


def test_a_payment_to_one_agency_keeps_its_key_on_the_transfer_on_postgresql(wallet, db, backend):
    owner, water = funded(wallet)
    same = key()

    wallet.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)
    again = wallet.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)

    assert again.replayed
    if backend == "postgresql":
        assert key_holders(db, same) == ([("portal", same)], [])
    else:  # SQLite takes the general path: a record
        assert key_holders(db, same) == ([], ["portal"])


def test_a_payment_to_two_agencies_keeps_a_record(wallet, db):
    owner, water = funded(wallet)
    gas = unique("gas").split(":")[1]
    wallet.open_agency_account(gas)
    same = key()

    wallet.pay(owner, [PaymentLeg(water, 1_000), PaymentLeg(f"agency:{gas}", 500)], idempotency_key=same)

    assert key_holders(db, same) == ([], ["portal"])
    with pytest.raises(IdempotencyConflict):
        wallet.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)


def test_keys_belong_to_their_client(wallet, db):
    owner, water = funded(wallet)
    same = key()

    first = wallet.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)
    billing = wallet_service(db, client="api:billing")
    other = billing.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)

    assert other.reference != first.reference and not other.replayed
    assert wallet.balance(owner).posted_fen == 8_000


def test_downgrade_moves_the_keys_on_transfers_into_records(make_database, backend):
    if backend != "postgresql":
        pytest.skip("only PostgreSQL's one-statement payment keeps keys on transfers")
    url = make_database()
    app = create_app(make_config(url))
    same = key()
    with app.test_request_context(), app.extensions["portal.db"].write_transaction() as session:
        wallet = wallet_service(session)
        owner, water = funded(wallet)
        paid = wallet.pay(owner, [PaymentLeg(water, 1_000)], idempotency_key=same)
    app.extensions["portal.db"].dispose()

    migrate.downgrade(url, "0007")

    engine = create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT operation, result_json FROM ledger_idempotency WHERE key = :key"), {"key": same}
        ).one()
    engine.dispose()
    assert stored.operation == "pay"
    assert from_json(TransferResult, json.loads(stored.result_json)) == paid  # what the old code replays
