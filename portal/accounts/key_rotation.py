"""Key rotation of the secrets users hold at rest (ID numbers, two-factor secrets), for `flask users
rotate-ids` and `flask users reindex`; the vault itself (idcrypto) knows no model."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.idcrypto import current_vault
from portal.accounts.models import User


def rotate(session: Session) -> int:
    """Re-encrypt every ID number held under an older key, after a new key was put first in IDENTITY_KEYS;
    once none is left, the old key can be dropped from the list. Returns how many were re-encrypted."""
    current = current_vault().current_key_id
    stale = select(User).where(User.national_id_key.is_not(None), User.national_id_key != current)
    count = 0
    for user in session.scalars(stale):
        user.national_id = user.national_id  # decrypts with its old key, seals with the current one
        count += 1
    return count


def rotate_totp_secrets(session: Session) -> int:
    """The same for two-factor secrets (totp_last_step is kept, so no code can be replayed after it)."""
    current = current_vault().current_key_id
    stale = select(User).where(User.totp_secret_key.is_not(None), User.totp_secret_key != current)
    count = 0
    for user in session.scalars(stale):
        user.totp_secret = user.totp_secret
        count += 1
    return count


def reindex(session: Session) -> int:
    """Recompute every ID number's blind index under IDENTITY_INDEX_KEY (after the old one moved to
    IDENTITY_PREVIOUS_INDEX_KEYS); then the old key can go. Returns how many indexes changed."""
    vault = current_vault()
    count = 0
    for user in session.scalars(select(User).where(User.national_id_ciphertext.is_not(None))):
        fresh = vault.index(user.national_id or "")
        if user.national_id_index != fresh:
            user.national_id_index = fresh
            count += 1
    return count
