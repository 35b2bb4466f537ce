"""A bill a resident picked on the lookup page, as the opaque value of its checkbox: checkout reads it
back (portal.payments.checkout.selection_from_token)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from portal.accounts.idcrypto import current_vault

SELECTION_PURPOSE = "bill_selection"  # bound into the tokens' ciphertext: no other sealed value passes


@dataclass(frozen=True)
class Selection:
    agency_code: str
    query: tuple[tuple[str, str], ...]
    bill_id: str

    def token(self) -> str:
        """The value of the bill's checkbox: opaque ('key_id.ciphertext', AES-GCM under IDENTITY_KEYS), as
        the query may hold a resident ID number. Deterministic, so a quote's fingerprint compares equal."""
        text = json.dumps(
            {"a": self.agency_code, "q": dict(self.query), "b": self.bill_id}, ensure_ascii=False
        )
        sealed = current_vault().seal(text, SELECTION_PURPOSE, deterministic=True)
        return f"{sealed.key_id}.{sealed.ciphertext}"
