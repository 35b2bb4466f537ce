"""SQL typed into lookups and filters is data: a clear message or no results, never a 500, and every
table is still there afterwards."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import func, inspect, select

from portal.accounts.models import User
from portal.payments.models import Payment
from portal.risk.models import UnfreezeRequest
from tests.security.helpers import body, call, isolated

PAYLOADS = ["' OR 1=1 --", "1; DROP TABLE users", "%' OR '1'='1"]


def _counts(db) -> tuple[int, int, int]:
    return tuple(
        db.scalar(select(func.count()).select_from(model)) for model in (User, Payment, UnfreezeRequest)
    )


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(
    ("role", "path", "fields", "statuses", "message"),
    [
        ("res", "/bills/{agency}", ("account_reference",), (200,), "not in the form this agency uses"),
        ("fin", "/operations/payments", ("reference",), (200, 404), None),
        ("admin", "/admin/audit/", ("actor", "action", "subject"), (200,), None),
        ("fin", "/reports/collections", ("agency",), (400,), "Not a valid choice"),
        ("fin", "/reports/collections", ("category", "state", "channel"), (400,), "Not a valid choice"),
        # a clerk's agency is always their own, whatever is asked
        ("clerk", "/reports/collections?date_from=2026-01-01&date_to=2026-01-31", ("agency",), (200,), None),
        ("res", "/wallet/statement", ("kind",), (200,), "Not a valid choice"),
        ("res", "/wallet/statement?format=csv", ("kind",), (200,), None),
        ("fin", "/reports/settlements", ("day",), (400,), "Enter a day."),
    ],
    ids=["lookup", "find-payment", "audit", "collections", "narrowing", "clerk", "statement", "csv", "day"],
)
def test_sql_in_a_filter_is_only_text(world, db, payload, role, path, fields, statuses, message):
    before = _counts(db)
    separator = "&" if "?" in path else "?"

    response = call(
        world, role, "GET", path.format(**world.ids) + separator + urlencode(dict.fromkeys(fields, payload))
    )

    assert response.status_code in statuses
    if message:
        assert message in body(response)
    assert world.ids["payment"] not in body(response)  # OR 1=1 found nothing
    assert _counts(db) == before


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("res", "/payments/{payload}"),
        ("res", "/payments/{payload}/receipts/{payload}.pdf"),
        ("fin", "/operations/payments/{payload}"),
        ("fin", "/reports/transfers/{payload}"),
        ("clerk", "/agencies/{payload}/"),
        ("clerk", "/agencies/{agency}/batches/{payload}"),
        ("anon", "/bills/{payload}"),
        ("anon", "/receipts/verify/{payload}"),
    ],
)
def test_sql_in_an_address_finds_nothing(world, db, payload, role, path):
    before = _counts(db)

    response = call(
        world, role, "GET", path.format(payload=quote(payload, safe=""), agency=world.ids["agency"])
    )

    assert response.status_code == 404
    assert _counts(db) == before


def test_sql_in_the_login_form_and_a_hidden_field_is_refused_plainly(world, db):
    before = _counts(db)

    logins = [
        call(world, "anon", "POST", "/account/login", {"identifier": payload, "password": payload})
        for payload in PAYLOADS
    ]
    unfreezes = [
        call(world, "admin", "POST", "/admin/risk/unfreeze", {"user_id": payload, "reason": "because"})
        for payload in PAYLOADS
    ]

    assert all(r.status_code == 200 and "incorrect" in body(r).lower() for r in logins), body(logins[0])
    assert all(r.status_code == 302 for r in unfreezes)
    assert call(world, "anon", "GET", "/account/").status_code == 302  # nobody was logged in
    assert _counts(db) == before


def test_every_table_is_still_there(world, db):
    names = set(inspect(db.connection()).get_table_names())

    assert {"users", "payments", "ledger_entries", "audit_events", "bill_batches"} <= names
    assert db.scalar(select(func.count()).select_from(User)) >= 8


def test_an_unfreeze_request_for_nobody_is_refused_not_a_500(world, db):
    response = isolated(
        db, call, world, "admin", "POST", "/admin/risk/unfreeze", {"user_id": "987654", "reason": "because"}
    )

    assert response.status_code in (302, 404)
