"""What the audit log says of notices to residents."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    values={"topic": {"notify.deliver": _l("notice to a resident")}, "channel": {"sms": _l("SMS")}}
)
