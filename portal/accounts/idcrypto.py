"""National ID numbers at rest: AES-256-GCM under a key named by its id, so keys can rotate, and a blind
index (HMAC-SHA256 of the normalised number) so uniqueness holds without the number being stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.identity import normalize_national_id

NONCE_BYTES = 12  # GCM's standard nonce; random per encryption (2^-32 collision risk only after 2^32 IDs)


class IdentityKeyMissing(RuntimeError):
    """A stored ID number names a key that is not configured any more (or its ciphertext was altered)."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: str  # base64url of nonce + ciphertext + tag


@dataclass(frozen=True)
class IdentityVault:
    keys: Mapping[str, bytes]  # in order: the first encrypts, every one decrypts
    index_key: bytes

    @property
    def current_key_id(self) -> str:
        return next(iter(self.keys))

    def seal(self, number: str) -> Sealed:
        key_id = self.current_key_id
        nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(self.keys[key_id]).encrypt(nonce, number.encode(), _aad(key_id))
        return Sealed(key_id, base64.urlsafe_b64encode(nonce + body).decode())

    def open(self, sealed: Sealed) -> str:
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise IdentityKeyMissing(f"identity key {sealed.key_id!r} is not in IDENTITY_KEYS")
        raw = base64.urlsafe_b64decode(sealed.ciphertext)
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(sealed.key_id))
        except InvalidTag as error:
            raise IdentityKeyMissing(f"ciphertext under key {sealed.key_id!r} does not verify") from error
        return plain.decode()

    def index(self, number: str) -> str:
        """The same number always gives the same index, so a unique constraint on it still holds."""
        normalised = normalize_national_id(number).encode()
        return hmac.new(self.index_key, normalised, hashlib.sha256).hexdigest()


def _aad(key_id: str) -> bytes:
    # Binds the key id to the ciphertext: relabelling a row with another key id fails to decrypt.
    return b"national_id:" + key_id.encode()


def current_vault() -> IdentityVault:
    """The app's vault from IDENTITY_KEYS and IDENTITY_INDEX_KEY (cheap to build, so never stale)."""
    config = current_app.config
    return IdentityVault(dict(config["IDENTITY_KEYS"]), config["IDENTITY_INDEX_KEY"])


def rotate(session: Session) -> int:
    """Re-encrypt every ID number held under an older key, after a new key was put first in IDENTITY_KEYS;
    once none is left, the old key can be dropped from the list. Returns how many were re-encrypted."""
    from portal.accounts.models import User

    current = current_vault().current_key_id
    stale = select(User).where(User.national_id_key.is_not(None), User.national_id_key != current)
    count = 0
    for user in session.scalars(stale):
        user.national_id = user.national_id  # decrypts with its old key, seals with the current one
        count += 1
    return count
