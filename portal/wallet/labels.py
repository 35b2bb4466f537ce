"""What the audit log says of wallets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "wallet.card_linked": _l("Bank card linked"),
        "wallet.frozen": _l("Wallet frozen"),
        "wallet.top_up": _l("Wallet topped up"),
        "wallet.unfreeze_refused": _l("Own unfreeze request refused (a second admin must approve)"),
        "wallet.unfreeze_requested": _l("Wallet unfreeze requested"),
        "wallet.unfrozen": _l("Wallet unfrozen"),
        "wallet.withdrawal": _l("Withdrawal from the wallet"),
    },
    subjects={"transfer": _l("Wallet transfer %(ref)s")},
)
