from datetime import timedelta

from sqlalchemy import select, update

from portal.db import utcnow
from portal.wallet.factory import wallet_service
from portal.wallet.models import IdempotencyRecord, LedgerAccount
from portal.wallet.types import PaymentLeg
from tests.wallet.conftest import CARD


def funded(app, db):
    with app.test_request_context():
        wallet = wallet_service(db)
        wallet.open_agency_account("cli-water")
        wallet.open_wallet("user:cli-1")
        card = wallet.link_card("user:cli-1", CARD).reference
        wallet.top_up("user:cli-1", 5_000, card=card, idempotency_key="cli-top-up-0001")
        wallet.pay("user:cli-1", [PaymentLeg("agency:cli-water", 1_000)], idempotency_key="cli-pay-00000001")


def test_verify_passes_on_a_sound_ledger(app, db, runner):
    funded(app, db)

    result = runner.invoke(args=["wallet", "verify"])

    assert result.exit_code == 0, result.output
    assert "ledger verified" in result.output


def test_verify_names_a_tampered_balance_and_exits_non_zero(app, db, runner):
    funded(app, db)
    db.execute(
        update(LedgerAccount)
        .where(LedgerAccount.owner_ref == "user:cli-1")
        .values(balance_fen=LedgerAccount.balance_fen + 7)
    )

    result = runner.invoke(args=["wallet", "verify"])

    assert result.exit_code == 1
    assert (
        "user:cli-1" in result.output and "cached balance 4007 fen, entries sum to 4000 fen" in result.output
    )


def test_purge_keeps_keys_younger_than_thirty_days(app, db, runner):
    funded(app, db)
    db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "cli-top-up-0001")
        .values(created_at=utcnow() - timedelta(days=31))
    )

    result = runner.invoke(args=["wallet", "purge-keys"])

    assert result.exit_code == 0 and "1 idempotency keys" in result.output
    assert "cli-top-up-0001" not in db.scalars(select(IdempotencyRecord.key)).all()
    with app.test_request_context():  # the payment's key (a record, or on PostgreSQL its transfer) stays
        again = wallet_service(db).pay(
            "user:cli-1", [PaymentLeg("agency:cli-water", 1_000)], idempotency_key="cli-pay-00000001"
        )
    assert again.replayed
