"""Two-factor secrets are stored only encrypted (the ID numbers' keyring), rotate with `users rotate-ids`,
blind-index keys rotate with IDENTITY_PREVIOUS_INDEX_KEYS and `users reindex`, and an operator can end
a lockout with `users unlock`."""

import base64
import json
import os
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from portal import migrate
from portal.accounts import idcrypto, services
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.db import utcnow
from portal.errors import ValidationFailed
from tests.conftest import login, submit
from tests.factories import DEFAULT_PASSWORD, TOTP_SECRET, ClerkFactory, UserFactory

VALID_ID = "11010519491231002X"


def key() -> bytes:
    return os.urandom(32)


def row_of(db, user) -> tuple:
    return db.execute(sa.select(sa.text("*")).select_from(User.__table__).where(User.id == user.id)).one()


def audited(db, action: str, user) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject == f"user:{user.id}")
    return list(db.scalars(query))


def test_the_database_holds_no_plain_two_factor_secret(app, db):
    clerk = ClerkFactory()

    row = row_of(db, clerk)

    assert not any(TOTP_SECRET in str(value) for value in row)
    assert "totp_secret" not in User.__table__.columns
    assert clerk.totp_secret_key == next(iter(app.config["IDENTITY_KEYS"]))
    with app.app_context():
        assert clerk.totp_secret == TOTP_SECRET
        vault = idcrypto.current_vault()
        sealed = idcrypto.Sealed(clerk.totp_secret_key, clerk.totp_secret_ciphertext)
        with pytest.raises(idcrypto.IdentityKeyMissing):  # bound to its purpose: no ID number opens as it
            vault.open(sealed, idcrypto.NATIONAL_ID)


def test_staff_log_in_with_the_encrypted_secret(client, db):
    clerk = ClerkFactory()

    login(client, clerk.email)

    assert client.get("/account/").status_code == 200


def test_rotation_re_encrypts_two_factor_secrets_and_logins_still_work(app, client, db, runner):
    old, new = key(), key()
    app.config["IDENTITY_KEYS"] = {"k1": old}
    clerk = ClerkFactory()
    app.config["IDENTITY_KEYS"] = {"k2": new, "k1": old}

    result = runner.invoke(args=["users", "rotate-ids"])

    assert result.exit_code == 0, result.output
    assert "1 two-factor secrets" in result.output
    db.expire_all()
    assert clerk.totp_secret_key == "k2"
    app.config["IDENTITY_KEYS"] = {"k2": new}  # the old key can go now
    login(client, clerk.email)
    assert client.get("/account/").status_code == 200
    assert "0 two-factor secrets" in runner.invoke(args=["users", "rotate-ids"]).output


def test_deterministic_sealing_repeats_and_still_verifies():
    vault = idcrypto.IdentityVault({"k1": key()}, b"i" * 32)

    first, second = (vault.seal("same text", "test", deterministic=True) for _ in range(2))

    assert first == second and vault.open(first, "test") == "same text"
    assert vault.seal("other text", "test", deterministic=True).ciphertext != first.ciphertext
    assert vault.seal("same text", "other", deterministic=True).ciphertext != first.ciphertext


def test_cli_unlocks_a_locked_account_and_audits_it(app, client, db, runner):
    user = UserFactory(phone="13600000201")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        submit(client, "/account/login", {"identifier": user.phone, "password": "wrong password here"})
    db.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()

    result = runner.invoke(args=["users", "unlock", "+86 136-0000-0201"])

    assert result.exit_code == 0, result.output
    assert "unlocked" in result.output
    db.refresh(user)
    assert user.locked_until is None and user.failed_login_count == 0
    events = audited(db, "account.unlocked", user)
    assert len(events) == 1 and events[0].actor == "cli"
    login(client, user.phone, DEFAULT_PASSWORD)
    assert client.get("/account/").status_code == 200


def test_cli_unlocks_staff_by_e_mail_and_refuses_unknown_logins(db, runner):
    clerk = ClerkFactory(locked_until=utcnow() + timedelta(minutes=10), failed_login_count=0)

    result = runner.invoke(args=["users", "unlock", clerk.email])
    unknown = runner.invoke(args=["users", "unlock", "nobody@example.cn"])

    assert result.exit_code == 0 and f"{clerk.email} unlocked" in result.output
    db.refresh(clerk)
    assert clerk.locked_until is None
    assert unknown.exit_code != 0 and "no user" in unknown.output


def test_unlocking_an_account_that_is_not_locked_says_so(app, db):
    user = UserFactory(phone="13600000202", failed_login_count=2)

    with app.app_context():
        was_locked = services.unlock(db, user, actor=None)

    assert not was_locked and user.failed_login_count == 0
    assert json.loads(audited(db, "account.unlocked", user)[0].details_json)["was_locked"] is False


def test_an_old_index_key_still_finds_numbers_until_reindexed(app, db, runner):
    app.config["IDENTITY_INDEX_KEY"] = b"o" * 40
    with app.app_context():
        holder = UserFactory(phone="13600000203", national_id=VALID_ID)
    old_index = holder.national_id_index
    app.config["IDENTITY_INDEX_KEY"] = b"n" * 40
    app.config["IDENTITY_PREVIOUS_INDEX_KEYS"] = (b"o" * 40,)
    other = UserFactory(phone="13600000204")

    with (
        app.test_request_context(headers={"Cookie": "portal_lang=en"}),
        pytest.raises(ValidationFailed, match="already linked"),
    ):
        services.verify_identity(db, other, "李四", VALID_ID)
    result = runner.invoke(args=["users", "reindex"])

    assert result.exit_code == 0, result.output
    assert "1 ID number indexes" in result.output
    db.expire_all()
    assert holder.national_id_index not in (None, old_index)
    app.config["IDENTITY_PREVIOUS_INDEX_KEYS"] = ()  # the old key can go now
    with (
        app.test_request_context(headers={"Cookie": "portal_lang=en"}),
        pytest.raises(ValidationFailed, match="already linked"),
    ):
        services.verify_identity(db, other, "李四", VALID_ID.lower())
    assert "0 ID number indexes" in runner.invoke(args=["users", "reindex"]).output


def test_migration_0017_encrypts_secrets_and_saved_queries_and_downgrades(make_database, monkeypatch):
    keys = {"m1": key()}
    monkeypatch.setenv("IDENTITY_KEYS", "m1:" + base64.b64encode(keys["m1"]).decode())
    monkeypatch.setenv("IDENTITY_INDEX_KEY", "n" * 40)
    url = make_database(migrated=False)
    migrate.upgrade(url, "0016")
    engine = sa.create_engine(url)
    query = json.dumps({"taxpayer_id": VALID_ID}, sort_keys=True)
    with engine.begin() as connection:
        _insert_0016_rows(connection, query)

    migrate.upgrade(url, "0017")

    vault = idcrypto.IdentityVault(keys, b"n" * 40)
    with engine.connect() as connection:
        kid, ciphertext = connection.execute(
            sa.text("SELECT totp_secret_key, totp_secret_ciphertext FROM users")
        ).one()
        account = connection.execute(
            sa.text("SELECT query_json, query_sealed_key, query_sealed, query_index FROM saved_accounts")
        ).one()
    assert "totp_secret" not in {column["name"] for column in sa.inspect(engine).get_columns("users")}
    assert vault.open(idcrypto.Sealed(kid, ciphertext), idcrypto.TWO_FACTOR) == TOTP_SECRET
    assert VALID_ID not in "".join(map(str, account)) and account[0] == "{}"
    assert json.loads(vault.open(idcrypto.Sealed(account[1], account[2]), "saved_query")) == json.loads(query)
    assert account[3] == vault.index_text(query)

    migrate.downgrade(url, "0016")

    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT totp_secret FROM users")).scalar() == TOTP_SECRET
        assert connection.execute(sa.text("SELECT query_json FROM saved_accounts")).scalar() == query
    engine.dispose()


def _insert_0016_rows(connection, query: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO agencies (id, code, name_zh, name_en, category, is_enabled, created_at) "
            "VALUES (1, 'tax', '税务', 'Tax', 'tax', true, CURRENT_TIMESTAMP)"
        )
    )
    connection.execute(
        sa.text(
            "INSERT INTO users (id, phone, password_hash, role, verification_tier, is_active, "
            "must_change_password, failed_login_count, password_changed_at, created_at, totp_secret) "
            "VALUES (1, '13600000205', 'x', 'resident', 'basic', true, false, 0, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, :secret)"
        ),
        {"secret": TOTP_SECRET},
    )
    connection.execute(
        sa.text(
            "INSERT INTO saved_accounts (user_id, agency_id, nickname, query_json, created_at) "
            "VALUES (1, 1, 'Me', :query, CURRENT_TIMESTAMP)"
        ),
        {"query": query},
    )


def test_totp_codes_of_the_encrypted_secret_are_the_authenticators(app, db):
    clerk = ClerkFactory()

    with app.app_context():
        assert pyotp.TOTP(clerk.totp_secret).now() == pyotp.TOTP(TOTP_SECRET).now()
