"""HMAC-SHA256 request signatures for the wallet's JSON API, shared by the server and the HTTP client.

The signed text binds the method, path, query, a Unix timestamp, a random nonce, the
Idempotency-Key header (empty when absent) and the SHA-256 of the body, so a request cannot be
altered; outside the replay window, or a second time inside it (the same nonce), it is refused.
"""

from __future__ import annotations

import hashlib
import hmac

CLIENT_HEADER = "X-Wallet-Client"
TIMESTAMP_HEADER = "X-Wallet-Timestamp"
SIGNATURE_HEADER = "X-Wallet-Signature"
NONCE_HEADER = "X-Wallet-Nonce"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def signed_text(
    method: str, path: str, query: str, timestamp: str, nonce: str, idempotency_key: str, body: bytes
) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, query, timestamp, nonce, idempotency_key, body_hash]).encode()


def sign(
    secret: str,
    method: str,
    path: str,
    query: str,
    timestamp: str,
    nonce: str,
    idempotency_key: str,
    body: bytes,
) -> str:
    text = signed_text(method, path, query, timestamp, nonce, idempotency_key, body)
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
