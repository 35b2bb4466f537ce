"""Input no column can hold is refused at the edge, the same way for every route.

PostgreSQL refuses a NUL in text and an integer beyond bigint; SQLite takes both, which is why only a
PostgreSQL deployment answered such requests with a 500. Here, once for the whole app:
- ``<int:...>`` ids outside a BigInteger column's range match no route (404);
- a path with control characters is a page that cannot exist (404);
- a query string with them is refused with a message (400; JSON from an API's own error handler);
- form fields with them get a message beside the field (``PortalForm``);
- the JSON APIs answer 400 with the code ``invalid_characters`` (``forbidden_text``).
Tab, line feed and carriage return are ordinary text in a form (a note may have lines).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

BIGINT_MAX = 2**63 - 1
# C0 controls but tab, LF and CR; DEL; lone surrogates (a JSON "\ud800" decodes to one).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_FORBIDDEN_IN_ADDRESS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
FIELD_MESSAGE = _l("Remove the control characters (such as NUL) from this field: they cannot be stored.")
ADDRESS_MESSAGE = _l(
    "The web address contains control characters (such as NUL) that no page uses. Check the address."
)


class IdConverter(IntegerConverter):
    """`<int:...>` for ids of BigInteger columns: a number no row can have matches no route."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = BIGINT_MAX):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def forbidden_text(value: Any) -> bool:
    """Whether ``value`` (a JSON document, or text) holds a character no text column can store."""
    if isinstance(value, str):
        return _FORBIDDEN.search(value) is not None
    if isinstance(value, dict):
        return any(forbidden_text(key) or forbidden_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(forbidden_text(item) for item in value)
    return False


class PortalForm(FlaskForm):
    """The base of every form: a field holding control characters is refused beside the field, before
    any other check can pass its value on."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if any(isinstance(raw, str) and _FORBIDDEN.search(raw) for raw in field.raw_data or ()):
                field.errors = [str(FIELD_MESSAGE)]
                field.data = field.default
                valid = False
        return valid


def init_app(app: Flask) -> None:
    """Before the blueprints are registered: their rules take the converter when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_control_characters_in_the_address)


class ControlCharactersInAddress(BadRequest):
    """Shown to the visitor as it is (a JSON API answers it as its own error)."""

    shown_to_visitor = True

    def __init__(self) -> None:
        super().__init__(str(ADDRESS_MESSAGE))


def _refuse_control_characters_in_the_address() -> None:
    if _FORBIDDEN_IN_ADDRESS.search(request.path):
        raise NotFound()
    for name, value in request.args.items(multi=True):
        if _FORBIDDEN_IN_ADDRESS.search(name) or _FORBIDDEN_IN_ADDRESS.search(value):
            raise ControlCharactersInAddress()
