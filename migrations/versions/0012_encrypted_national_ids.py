"""National ID numbers encrypted at rest (AES-256-GCM with a key id) with a unique blind index (HMAC).

Existing numbers are encrypted here with the configured IDENTITY_KEYS / IDENTITY_INDEX_KEY (config.py),
then the plain column is dropped. The few lines of cryptography are repeated on purpose: a migration must
keep doing what it did when it was written, whatever portal/accounts/idcrypto.py becomes.

SQLite cannot drop a column with a UNIQUE constraint in place, so the users table is copied; foreign keys
are switched off around the copy (outside a transaction, where SQLite honours that pragma), checked with
`PRAGMA foreign_key_check` and switched on again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("national_id", sa.String),
    sa.column("national_id_key", sa.String),
    sa.column("national_id_ciphertext", sa.String),
    sa.column("national_id_index", sa.String),
)


def _keys() -> tuple[dict[str, bytes], bytes]:
    from config import load_config  # only when there are rows to convert

    config = load_config()
    if not config.IDENTITY_KEYS or not config.IDENTITY_INDEX_KEY:
        raise RuntimeError(
            "Set IDENTITY_KEYS and IDENTITY_INDEX_KEY before this migration encrypts ID numbers."
        )
    return config.IDENTITY_KEYS, config.IDENTITY_INDEX_KEY


def _aad(key_id: str) -> bytes:
    return b"national_id:" + key_id.encode()


def _seal(keys: dict[str, bytes], index_key: bytes, number: str) -> dict[str, str]:
    key_id = next(iter(keys))
    nonce = os.urandom(12)
    body = AESGCM(keys[key_id]).encrypt(nonce, number.encode(), _aad(key_id))
    return {
        "national_id_key": key_id,
        "national_id_ciphertext": base64.urlsafe_b64encode(nonce + body).decode(),
        "national_id_index": hmac.new(index_key, number.strip().upper().encode(), hashlib.sha256).hexdigest(),
    }


def _open(keys: dict[str, bytes], key_id: str, ciphertext: str) -> str:
    raw = base64.urlsafe_b64decode(ciphertext)
    return AESGCM(keys[key_id]).decrypt(raw[:12], raw[12:], _aad(key_id)).decode()


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite ignores this pragma inside a transaction: end the migration's one, set it, begin anew."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("copying the users table broke a foreign key; nothing was switched back on")
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    bind.exec_driver_sql("BEGIN")


def upgrade() -> None:
    _sqlite_foreign_keys(on=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_id_key", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("national_id_ciphertext", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("national_id_index", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_national_id_index"), ["national_id_index"])
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.national_id).where(users.c.national_id.is_not(None))
    )
    rows = rows.all()
    if rows:
        keys, index_key = _keys()
        for user_id, number in rows:
            connection.execute(
                users.update().where(users.c.id == user_id).values(**_seal(keys, index_key, number))
            )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_national_id"), type_="unique")
        batch_op.drop_column("national_id")
    _sqlite_foreign_keys(on=True)


def downgrade() -> None:
    _sqlite_foreign_keys(on=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_id", sa.String(length=18), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_national_id"), ["national_id"])
    connection = op.get_bind()
    query = sa.select(users.c.id, users.c.national_id_key, users.c.national_id_ciphertext)
    rows = connection.execute(query.where(users.c.national_id_ciphertext.is_not(None))).all()
    if rows:
        keys, _index_key = _keys()
        for user_id, key_id, ciphertext in rows:
            number = _open(keys, key_id, ciphertext)
            connection.execute(users.update().where(users.c.id == user_id).values(national_id=number))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_national_id_index"), type_="unique")
        batch_op.drop_column("national_id_index")
        batch_op.drop_column("national_id_ciphertext")
        batch_op.drop_column("national_id_key")
    _sqlite_foreign_keys(on=True)
