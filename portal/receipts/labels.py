"""What the audit log says of receipts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(values={"topic": {"receipt.render": _l("receipt to render")}})
