"""Hostile input to every route, as each role and as a visitor: never a 500, never a traceback in the log,
and the ledger and the audit chain still verify afterwards.

Hypothesis fills every rule of ``app.url_map``: path parameters, query strings, form fields (the route's
own, missing, repeated and unknown ones) and, for the signed wallet API, JSON bodies. Values are sent as
bytes, so invalid UTF-8, encoded lone surrogates and NUL reach the portal as a browser or a script could
send them. ``FUZZ_EXAMPLES`` sets the examples per route (25 in ``make test``; ``make fuzz`` runs 500).
"""

from __future__ import annotations

import json
import logging
import os
import re
from urllib.parse import quote_from_bytes, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.audit.services import chain_problems
from portal.wallet.verify import ledger_violations
from tests.security.helpers import api_headers
from tests.security.routes import ROLES, ROUTES

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
_PLACEHOLDER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")

SPECIAL = [
    "\x00",
    "ab\x00cd",
    "\x1b[31m",
    "99999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    "-1",
    "0",
    "1e309",
    "NaN",
    "",
    " ",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "２０２６-１２-０７",
    "2026-02-30",
    "𠀀𠀁",
    "x" * 5000,
]
special = st.sampled_from(SPECIAL).map(str.encode)
text_values = st.one_of(
    special,  # the values that broke something once come up most often
    special,
    special,
    st.text(max_size=30).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(min_value=-(2**80), max_value=2**80).map(lambda n: str(n).encode()),
    st.binary(max_size=12),  # invalid UTF-8 among it
    st.sampled_from([b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\x80", b"a\xe4\xb8"]),  # surrogate, overlong
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(SPECIAL),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=20),  # lone surrogates too
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
JSON_FIELDS = ["owner", "tier", "agency_code", "frozen", "card", "amount_fen", "legs", "agency", "reason"]


def _encode(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(
        f"{quote_from_bytes(name, safe='')}={quote_from_bytes(value, safe='')}" for name, value in pairs
    )


@st.composite
def requests(draw, rule, method: str, known_fields: list[str]):
    """(role, path, query string, form body) for one rule."""
    role = draw(st.sampled_from(ROLES))
    path = _PLACEHOLDER.sub(lambda _m: quote_from_bytes(draw(text_values) or b"0", safe=""), rule.rule)
    names = st.sampled_from([*known_fields, "page", "format", "next", "reference", "x\x00"]).map(str.encode)
    query = _encode(draw(st.lists(st.tuples(names, text_values), max_size=4)))
    fields = draw(st.lists(st.tuples(names, text_values), max_size=6))  # missing, repeated, unknown
    return role, path, query, fields


@pytest.fixture
def errors_logged(world):
    """Every log record of level ERROR the app writes during the test (a traceback is one)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.ERROR)
    handler.emit = records.append
    world.app.logger.addHandler(handler)
    yield records
    world.app.logger.removeHandler(handler)


_NO_BODY = object()


def _send(world, role: str, method: str, path: str, query: str, fields, *, api: bool, json_body=_NO_BODY):
    """One request as ``role``; a wallet API call is signed (over the path as the portal decodes it), so
    hostile values get past the signature check to the handlers."""
    client = world.clients[role]
    before = client.get_cookie(world.cookie_name)
    headers = {}
    body = None
    if api:
        body = b"" if json_body is _NO_BODY else json.dumps(json_body).encode()
        headers = api_headers(method, unquote(path, errors="replace"), query, body)
    elif method != "GET":
        pairs = [(b"csrf_token", world.csrf[role].encode()), *fields]
        body = _encode(pairs).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        return client.open(path, method=method, query_string=query, data=body, headers=headers)
    finally:
        if before is None:
            client.delete_cookie(world.cookie_name)
        else:
            client.set_cookie(world.cookie_name, before.value)


def _rules(app):
    return {
        (rule.endpoint, method): rule
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _assert_still_sound(db, errors_logged, what: str) -> None:
    assert [record.getMessage() for record in errors_logged] == [], what
    assert ledger_violations(db) == []
    assert list(chain_problems(db)) == []


@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda key: f"{key[0]}:{key[1]}")
def test_no_input_to_any_route_answers_500(world, db, errors_logged, key):
    endpoint, method = key
    rule = _rules(world.app)[key]
    known = list(ROUTES[key].data)
    seen: list[str] = []

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        request=requests(rule, method, known), body=json_values, fields=st.lists(st.sampled_from(JSON_FIELDS))
    )
    def one(request, body, fields):
        role, path, query, form = request
        api = endpoint.startswith("wallet_api.")
        json_body = _NO_BODY
        if api and method != "GET":
            json_body = {name: body for name in fields} if fields else body
        response = _send(world, role, method, path, query, form, api=api, json_body=json_body)
        seen.append(f"{role} {method} {path}?{query[:200]} -> {response.status_code}")
        assert response.status_code < 500, seen[-1]
        assert not errors_logged, seen[-1]

    one()
    _assert_still_sound(db, errors_logged, "\n".join(seen[-5:]))
