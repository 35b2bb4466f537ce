"""What the audit log says of campaigns."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary
from portal.promotions.forms import RULE_LABELS

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "campaign.approved": _l("Campaign approved"),
        "campaign.ended": _l("Campaign ended early"),
        "campaign.budget_returned": _l("Campaign budget returned to the promotion fund"),
        "campaign.proposed": _l("Campaign proposed"),
        "campaign.rejected": _l("Campaign rejected"),
        "export.campaign": _l("Campaign report exported"),
    },
    subjects={"campaign": _l("Campaign %(ref)s")},
    values={"rule": RULE_LABELS},
)
