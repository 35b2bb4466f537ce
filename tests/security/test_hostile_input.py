"""The requests that once answered 500 on PostgreSQL (a NUL in text, an id beyond bigint) now get a
404, or a 400 with a message, on both databases; a form field with a NUL is refused beside the field."""

from __future__ import annotations

import json

import pytest

from portal.bills.models import SavedAccount
from tests.security.helpers import api_headers, body, call, isolated

HUGE = "99999999999999999999"
BIGINT_MAX = str(2**63 - 1)


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("anon", "GET", "/bills/%00"),
        ("res", "GET", "/payments/%00"),
        ("res", "GET", "/receipts/%00.pdf"),
        ("clerk", "GET", "/agencies/{agency}/batches/%00"),
        ("admin", "GET", f"/admin/staff/{HUGE}"),
        ("admin", "GET", f"/admin/staff/{BIGINT_MAX}"),  # the largest id a row could have: none has it
        ("res", "POST", f"/notices/{HUGE}/read"),
        ("fin", "GET", f"/reports/settlements/{HUGE}.pdf"),
        ("admin", "POST", f"/operations/outbox/{HUGE}/resend"),
        ("res", "GET", f"/bills/mine/{HUGE}/autopay"),
    ],
)
def test_paths_no_row_can_match_are_not_found(world, db, role, method, path):
    response = isolated(db, call, world, role, method, path.format(**world.ids))

    assert response.status_code == 404


def test_a_query_with_a_nul_is_refused_with_a_message(world, db):
    response = isolated(db, call, world, "fin", "GET", "/operations/payments?reference=ab%00cd")

    assert response.status_code == 400
    assert "control characters" in body(response)


def test_a_nickname_with_a_nul_is_refused_beside_the_field_and_nothing_is_saved(world, db):
    path = "/bills/{agency}/save".format(**world.ids)
    form = {"account_reference": "3100200300", "nickname": "Ho\x00me"}

    response = call(world, "res", "POST", path, form)

    assert response.status_code == 400
    assert 'id="nickname-error"' in body(response) and "control characters" in body(response)
    assert db.query(SavedAccount).filter(SavedAccount.nickname.like("Ho%me")).count() == 0


@pytest.mark.parametrize("text", ["\x00", "\ud800"])
def test_the_wallet_api_refuses_control_characters_and_lone_surrogates_with_a_code(world, db, text):
    path = "/wallet/api/v1/wallets"
    content = json.dumps({"owner": f"user:{text}", "tier": "basic"}).encode()
    client = world.app.test_client()

    response = isolated(db, client.post, path, data=content, headers=api_headers("POST", path, "", content))

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_characters"
