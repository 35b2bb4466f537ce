"""What the audit log says of agencies."""

from __future__ import annotations

from portal.agencies.models import CATEGORY_LABELS
from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(values={"category": CATEGORY_LABELS})
