"""How audit entries read to an admin: events in words of the reader's language (as each domain
registered them in ``portal.audit.labels``), actors by name (staff by e-mail, residents masked), details
with amounts in yuan."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.registry import agency_cache
from portal.audit.labels import DETAIL_LABELS, MACHINE_ACTORS, SUBJECT_KINDS, VALUE_LABELS, WHOLE_SUBJECTS
from portal.authz import ROLE_LABELS, Role
from portal.db import get_session
from portal.identity import mask_email, mask_phone
from portal.money import format_fen


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # empty for machine actors
    staff: bool = False


def actors_of(session: Session, codes: Iterable[str]) -> dict[str, Actor]:
    """One query for a page of entries: staff by e-mail (they act in their own name), residents masked."""
    codes = set(codes)
    ids = {int(code[5:]) for code in codes if code.startswith("user:") and code[5:].isdigit()}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    found: dict[str, Actor] = {}
    for code in codes:
        if code in MACHINE_ACTORS:
            found[code] = Actor(str(MACHINE_ACTORS[code]), "")
            continue
        user = users.get(int(code[5:])) if code.startswith("user:") and code[5:].isdigit() else None
        if user is None:
            found[code] = Actor(code, "")
        elif user.is_staff:
            found[code] = Actor(user.email or mask_phone(user.phone), str(ROLE_LABELS[user.role]), staff=True)
        else:
            found[code] = Actor(mask_phone(user.phone) or mask_email(user.email), str(ROLE_LABELS[user.role]))
    return found


def subject_label(code: str, actors: dict[str, Actor]) -> str:
    """What an entry is about, in words: a person by name, an agency by name, a payment by its reference."""
    if code in WHOLE_SUBJECTS:
        return str(WHOLE_SUBJECTS[code])
    if code in actors and actors[code].name != code:
        return actors[code].name
    kind, _colon, ref = code.partition(":")
    if kind == "agency":
        return _word("agency", ref)
    label = SUBJECT_KINDS.get(kind)
    return str(label) % {"ref": ref} if label is not None and ref else code


def detail_items(details_json: str) -> list[tuple[str, str]]:
    """(label, value) pairs; amounts (keys ending in _fen) in yuan, nested values flattened."""
    try:
        details = json.loads(details_json or "{}")
    except ValueError:
        return [("", details_json)]
    if not isinstance(details, dict):
        return [("", str(details))]
    ordered = sorted(details.items(), key=lambda item: _DETAIL_ORDER.get(item[0], len(_DETAIL_ORDER)))
    return [(_detail_label(key), _detail_value(key, value)) for key, value in ordered]


_DETAIL_ORDER = {key: position for position, key in enumerate(DETAIL_LABELS)}  # "before" ahead of "after"


def _detail_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key


def _detail_value(key: str, value: object) -> str:
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return format_fen(value)
    if isinstance(value, str):
        return _word(key, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return "-"
    if isinstance(value, list):
        return _(", ").join(_detail_value(key, item) for item in value) or "-"
    if isinstance(value, dict):
        if not value:
            return "-"
        return _("; ").join(f"{_detail_label(k)}{_(': ')}{_detail_value(k, v)}" for k, v in value.items())
    return str(value)


def _word(key: str, value: str) -> str:
    """Codes people would not read (a role, a rule, an agency, a reason) in the reader's words."""
    if key == "role" and value in set(Role):
        return str(ROLE_LABELS[Role(value)])
    if key == "actor" and value.startswith("user:"):
        return actors_of(get_session(), [value])[value].name
    if key == "agency":
        agency = agency_cache().get(get_session, value)
        return agency.name_for(str(get_locale())) if agency is not None else value
    label = VALUE_LABELS.get(key, {}).get(value)
    return str(label) if label is not None else value
