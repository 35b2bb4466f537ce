"""What the audit log says of service halls, cashiers and their shifts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.labels import Vocabulary

AUDIT_VOCABULARY = Vocabulary(
    actions={
        "counter.shift_opened": _l("Counter shift opened"),
        "counter.shift_closed": _l("Counter shift closed (cash-up)"),
        "hall.created": _l("Service hall created"),
        "hall.changed": _l("Service hall changed"),
        "cashier.bound": _l("Cashier assigned to a service hall"),
        "cashier.unbound": _l("Cashier no longer at a service hall"),
    },
    subjects={"shift": _l("Shift %(ref)s"), "hall": _l("Service hall %(ref)s")},
)
