"""Secrets at rest: AES-256-GCM under a key named by its id, so keys can rotate, and a blind index
(HMAC-SHA256) so uniqueness holds without the value being stored. National ID numbers, two-factor
secrets, sensitive saved bill queries and the bill pages' selection tokens all use this one keyring;
each use has its own purpose, bound into the ciphertext, so one kind can never be passed off as another.
"""

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

from portal.identity import normalize_national_id

NONCE_BYTES = 12  # GCM's standard nonce; random per encryption (2^-32 collision risk only after 2^32 IDs)
NATIONAL_ID = "national_id"
TWO_FACTOR = "two_factor"  # the purpose of two-factor secrets


class IdentityKeyMissing(RuntimeError):
    """A stored value names a key that is not configured any more (or its ciphertext was altered)."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: str  # base64url of nonce + ciphertext + tag


@dataclass(frozen=True)
class IdentityVault:
    keys: Mapping[str, bytes]  # in order: the first encrypts, every one decrypts
    index_key: bytes  # writes every blind index
    previous_index_keys: tuple[bytes, ...] = ()  # still found by lookups until `users reindex` ran

    @property
    def current_key_id(self) -> str:
        return next(iter(self.keys))

    def seal(self, text: str, purpose: str = NATIONAL_ID, *, deterministic: bool = False) -> Sealed:
        """Deterministic sealing derives the nonce from the text (a synthetic IV): the same text gives the
        same ciphertext, which reveals only equality; for values compared as strings (selection tokens)."""
        key_id = self.current_key_id
        key = self.keys[key_id]
        if deterministic:
            nonce_key = hmac.new(key, b"portal synthetic nonce", hashlib.sha256).digest()
            nonce = hmac.new(nonce_key, _aad(purpose, key_id) + b"\0" + text.encode(), hashlib.sha256)
            nonce = nonce.digest()[:NONCE_BYTES]
        else:
            nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(key).encrypt(nonce, text.encode(), _aad(purpose, key_id))
        return Sealed(key_id, base64.urlsafe_b64encode(nonce + body).decode())

    def open(self, sealed: Sealed, purpose: str = NATIONAL_ID) -> str:
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise IdentityKeyMissing(f"identity key {sealed.key_id!r} is not in IDENTITY_KEYS")
        try:
            raw = base64.urlsafe_b64decode(sealed.ciphertext)
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(purpose, sealed.key_id))
        except (InvalidTag, ValueError) as error:
            raise IdentityKeyMissing(f"ciphertext under key {sealed.key_id!r} does not verify") from error
        return plain.decode()

    def index(self, number: str) -> str:
        """The same number always gives the same index, so a unique constraint on it still holds."""
        return self.index_text(normalize_national_id(number))

    def indexes(self, number: str) -> list[str]:
        """The number's index under every index key, newest first: what lookups search for."""
        return self.text_indexes(normalize_national_id(number))

    def index_text(self, text: str, key: bytes | None = None) -> str:
        """A blind index of already canonical text (no normalising)."""
        return hmac.new(key or self.index_key, text.encode(), hashlib.sha256).hexdigest()

    def text_indexes(self, text: str) -> list[str]:
        return [self.index_text(text, key) for key in (self.index_key, *self.previous_index_keys)]


def _aad(purpose: str, key_id: str) -> bytes:
    # Binds purpose and key id to the ciphertext: relabelling a row with another key id, or moving a
    # ciphertext from one use to another, fails to decrypt.
    return purpose.encode() + b":" + key_id.encode()


def current_vault() -> IdentityVault:
    """The app's vault from IDENTITY_KEYS and the index keys (cheap to build, so never stale)."""
    config = current_app.config
    previous = tuple(config.get("IDENTITY_PREVIOUS_INDEX_KEYS", ()))
    return IdentityVault(dict(config["IDENTITY_KEYS"]), config["IDENTITY_INDEX_KEY"], previous)
