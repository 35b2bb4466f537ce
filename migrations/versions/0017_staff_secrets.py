"""Two-factor secrets and saved bill queries encrypted at rest.

users.totp_secret (plain) becomes totp_secret_key + totp_secret_ciphertext (AES-256-GCM under
IDENTITY_KEYS, as national ID numbers). Saved accounts keep sensitive query values (a taxpayer number may
be a resident ID number) only encrypted: query_sealed_key + query_sealed, and uniqueness moves from the
plain query_json to query_index, a blind index (HMAC under IDENTITY_INDEX_KEY) of every value. Which
fields are sensitive is known only to the running adapters, so this migration seals every value of the
rows that exist now (nothing stays plain by mistake); rows saved later seal only the sensitive ones.

The crypto is portal/accounts/idcrypto.py's (one implementation of the scheme); keys come from config.py.
SQLite copies saved_accounts to change its unique constraint: foreign keys are switched off around the
copy (outside a transaction, where SQLite honours that pragma) and checked afterwards, as in 0012.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TWO_FACTOR = "two_factor"  # purposes as in portal/accounts/idcrypto.py
SAVED_QUERY = "saved_query"

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("totp_secret", sa.String),
    sa.column("totp_secret_key", sa.String),
    sa.column("totp_secret_ciphertext", sa.String),
)
saved_accounts = sa.table(
    "saved_accounts",
    sa.column("id", sa.Integer),
    sa.column("query_json", sa.String),
    sa.column("query_sealed_key", sa.String),
    sa.column("query_sealed", sa.String),
    sa.column("query_index", sa.String),
)


def _vault():
    from config import load_config  # only when there are rows to convert
    from portal.accounts.idcrypto import IdentityVault

    config = load_config()
    if not config.IDENTITY_KEYS or not config.IDENTITY_INDEX_KEY:
        raise RuntimeError("Set IDENTITY_KEYS and IDENTITY_INDEX_KEY before this migration encrypts secrets.")
    return IdentityVault(config.IDENTITY_KEYS, config.IDENTITY_INDEX_KEY)


def _canonical(values: dict) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite ignores this pragma inside a transaction: end the migration's one, set it, begin anew."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if on and bind.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("copying saved_accounts broke a foreign key; nothing was switched back on")
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    bind.exec_driver_sql("BEGIN")


def upgrade() -> None:
    _encrypt_totp_secrets()
    _encrypt_saved_queries()


def downgrade() -> None:
    _decrypt_saved_queries()
    _decrypt_totp_secrets()


def _encrypt_totp_secrets() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret_key", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("totp_secret_ciphertext", sa.String(length=100), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    )
    rows = rows.all()
    vault = _vault() if rows else None
    for user_id, secret in rows:
        sealed = vault.seal(secret, TWO_FACTOR)
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(totp_secret_key=sealed.key_id, totp_secret_ciphertext=sealed.ciphertext)
        )
    # recreate="never": dropping a column without constraints is native on SQLite >= 3.35, and a copy of
    # users would trip the foreign keys that point at it.
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("totp_secret")


def _decrypt_totp_secrets() -> None:
    from portal.accounts.idcrypto import Sealed

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    query = sa.select(users.c.id, users.c.totp_secret_key, users.c.totp_secret_ciphertext)
    rows = connection.execute(query.where(users.c.totp_secret_ciphertext.is_not(None))).all()
    vault = _vault() if rows else None
    for user_id, key_id, ciphertext in rows:
        secret = vault.open(Sealed(key_id, ciphertext), TWO_FACTOR)
        connection.execute(users.update().where(users.c.id == user_id).values(totp_secret=secret))
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("totp_secret_ciphertext")
        batch_op.drop_column("totp_secret_key")


def _encrypt_saved_queries() -> None:
    with op.batch_alter_table("saved_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("query_sealed_key", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("query_sealed", sa.String(length=700), nullable=True))
        batch_op.add_column(sa.Column("query_index", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(saved_accounts.c.id, saved_accounts.c.query_json)).all()
    vault = _vault() if rows else None
    for account_id, query_json in rows:
        values = json.loads(query_json)
        sealed = vault.seal(_canonical(values), SAVED_QUERY)
        connection.execute(
            saved_accounts.update()
            .where(saved_accounts.c.id == account_id)
            .values(
                query_json="{}",
                query_sealed_key=sealed.key_id,
                query_sealed=sealed.ciphertext,
                query_index=vault.index_text(_canonical(values)),
            )
        )
    _sqlite_foreign_keys(on=False)
    with op.batch_alter_table("saved_accounts", schema=None) as batch_op:
        batch_op.alter_column("query_index", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_saved_accounts_query", type_="unique")
        batch_op.create_unique_constraint("uq_saved_accounts_query", ["user_id", "agency_id", "query_index"])
    _sqlite_foreign_keys(on=True)


def _decrypt_saved_queries() -> None:
    from portal.accounts.idcrypto import Sealed

    connection = op.get_bind()
    query = sa.select(
        saved_accounts.c.id,
        saved_accounts.c.query_json,
        saved_accounts.c.query_sealed_key,
        saved_accounts.c.query_sealed,
    )
    rows = connection.execute(query.where(saved_accounts.c.query_sealed.is_not(None))).all()
    vault = _vault() if rows else None
    for account_id, query_json, key_id, ciphertext in rows:
        values = {**json.loads(query_json), **json.loads(vault.open(Sealed(key_id, ciphertext), SAVED_QUERY))}
        connection.execute(
            saved_accounts.update()
            .where(saved_accounts.c.id == account_id)
            .values(query_json=_canonical(values))
        )
    _sqlite_foreign_keys(on=False)
    with op.batch_alter_table("saved_accounts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_saved_accounts_query", type_="unique")
        batch_op.create_unique_constraint("uq_saved_accounts_query", ["user_id", "agency_id", "query_json"])
        batch_op.drop_column("query_index")
        batch_op.drop_column("query_sealed")
        batch_op.drop_column("query_sealed_key")
    _sqlite_foreign_keys(on=True)
