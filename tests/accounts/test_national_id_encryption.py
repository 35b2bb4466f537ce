"""National ID numbers are stored only encrypted (AES-GCM, key id per row) with a unique blind index."""

import base64
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import migrate
from portal.accounts import idcrypto
from portal.accounts.models import User
from tests.factories import UserFactory

VALID_ID = "11010519491231002X"
OTHER_ID = "440524199001010018"


def key() -> bytes:
    return os.urandom(32)


def encoded(*pairs: tuple[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(value).decode()}" for kid, value in pairs)


def test_round_trip_gives_the_number_back_and_never_the_same_ciphertext_twice():
    vault = idcrypto.IdentityVault({"k1": key()}, b"i" * 32)

    first, second = vault.seal(VALID_ID), vault.seal(VALID_ID)

    assert first.key_id == "k1" and VALID_ID not in first.ciphertext
    assert first.ciphertext != second.ciphertext
    assert vault.open(first) == vault.open(second) == VALID_ID
    assert vault.index(VALID_ID) == vault.index(VALID_ID.lower()) != vault.index(OTHER_ID)


def test_a_ciphertext_moved_to_another_key_id_or_altered_does_not_open():
    one, two = key(), key()
    vault = idcrypto.IdentityVault({"k1": one, "k2": two}, b"i" * 32)
    sealed = vault.seal(VALID_ID)

    with pytest.raises(idcrypto.IdentityKeyMissing):
        vault.open(idcrypto.Sealed("k2", sealed.ciphertext))
    with pytest.raises(idcrypto.IdentityKeyMissing):
        idcrypto.IdentityVault({"k2": two}, b"i" * 32).open(sealed)


def test_the_database_holds_no_plain_id_number(app, db):
    with app.app_context():
        user = UserFactory(phone="13600000101", national_id=VALID_ID)
    row = db.execute(sa.select(sa.text("*")).select_from(User.__table__).where(User.id == user.id)).one()

    assert not any(VALID_ID in str(value) or VALID_ID.lower() in str(value) for value in row)
    assert "national_id" not in User.__table__.columns
    with app.app_context():
        assert user.national_id == VALID_ID


def test_one_number_still_belongs_to_one_account(app, db):
    with app.app_context():
        UserFactory(phone="13600000102", national_id=VALID_ID)
        with pytest.raises(IntegrityError), db.begin_nested():
            UserFactory(phone="13600000103", national_id=VALID_ID.lower())


def test_rotation_re_encrypts_old_numbers_under_the_new_key(app, db, runner):
    old, new = key(), key()
    app.config["IDENTITY_KEYS"] = {"k1": old}
    with app.app_context():
        user = UserFactory(phone="13600000104", national_id=VALID_ID)
        index = user.national_id_index
    app.config["IDENTITY_KEYS"] = {"k2": new, "k1": old}

    result = runner.invoke(args=["users", "rotate-ids"])

    assert result.exit_code == 0, result.output
    assert "1 ID numbers re-encrypted under key k2" in result.output
    db.expire_all()
    assert (user.national_id_key, user.national_id_index) == ("k2", index)
    app.config["IDENTITY_KEYS"] = {"k2": new}  # the old key can go now
    with app.app_context():
        assert user.national_id == VALID_ID
    assert "0 ID numbers" in runner.invoke(args=["users", "rotate-ids"]).output


def test_migration_encrypts_existing_numbers_and_drops_the_plain_column(make_database, monkeypatch):
    keys = {"m1": key()}
    monkeypatch.setenv("IDENTITY_KEYS", encoded(*keys.items()))
    monkeypatch.setenv("IDENTITY_INDEX_KEY", "n" * 40)
    url = make_database(migrated=False)
    migrate.upgrade(url, "0011")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO users (phone, password_hash, role, verification_tier, is_active, "
                "must_change_password, failed_login_count, password_changed_at, created_at, national_id) "
                "VALUES ('13600000105', 'x', 'resident', 'id_verified', true, false, 0, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, :number)"
            ),
            {"number": VALID_ID},
        )

    migrate.upgrade(url)

    assert "national_id" not in {column["name"] for column in sa.inspect(engine).get_columns("users")}
    with engine.connect() as connection:
        kid, ciphertext, index = connection.execute(
            sa.text("SELECT national_id_key, national_id_ciphertext, national_id_index FROM users")
        ).one()
    engine.dispose()
    vault = idcrypto.IdentityVault(keys, b"n" * 40)
    assert vault.open(idcrypto.Sealed(kid, ciphertext)) == VALID_ID and index == vault.index(VALID_ID)
