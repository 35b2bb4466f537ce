"""What the audit log says of clerks' bill batches."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "batch.committed": _l("Bill batch committed"),
        "batch.uploaded": _l("Bill batch uploaded"),
        "batch.withdrawn": _l("Bill batch withdrawn"),
    },
    subjects={"batch": _l("Bill batch %(ref)s")},
    values={"topic": {"batch.check": _l("bill batch to check"), "batch.commit": _l("bill batch to load")}},
)
