"""Markup typed into any field the portal shows again comes back escaped, never as live markup."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from sqlalchemy import update

from portal.db import utcnow
from portal.risk.models import UnfreezeRequest
from portal.wallet.factory import wallet_service
from tests.security.helpers import body, call

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
PAYLOADS = [SCRIPT, IMAGE]
LIVE = ("<script>alert", "<img src=x", "onerror=alert(1)>")  # what a browser would run


def assert_escaped(html: str, payload: str) -> None:
    """The text is on the page (so it was echoed), but only in its escaped form."""
    assert payload not in html
    assert not [live for live in LIVE if live in html.replace(str(escape(payload)), "")]
    assert str(escape(payload)) in html, "the field was not shown again: this test would prove nothing"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_registration_and_identity_fields(world, db, payload):
    registered = call(world, "anon", "POST", "/account/register", {"identifier": payload, "password": "x"})
    identity = call(world, "res", "POST", "/account/identity", {"real_name": payload, "national_id": "123"})

    assert registered.status_code == identity.status_code == 200
    assert_escaped(body(registered), payload)
    assert_escaped(body(identity), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_lookup_fields_and_saved_account_nicknames(world, db, payload):
    agency = world.ids["agency"]
    looked_up = call(world, "res", "GET", f"/bills/{agency}?{urlencode({'account_reference': payload})}")
    saved = call(
        world,
        "res",
        "POST",
        f"/bills/{agency}/save",
        {"account_reference": "3100200300", "nickname": payload},
    )
    mine = call(world, "res", "GET", "/bills/mine")

    assert looked_up.status_code == 200 and saved.status_code == 302
    assert_escaped(body(looked_up), payload)
    assert_escaped(body(mine), payload)


def test_batch_file_names_and_cells(world, db):
    name = "<img src=x onerror=alert(1)>.csv"  # browsers send a quote in a file name as %22
    rows = (
        "账单号,户号,缴费人,金额,滞纳金,缴费截止日,账期,说明\n"
        + f'XSS-1,3100200377,{SCRIPT},12.00,,,2026-11,"{IMAGE.replace(chr(34), 2 * chr(34))}"\n'
    )
    data = {"file": (io.BytesIO(rows.encode()), name)}

    uploaded = call(world, "clerk", "POST", f"/agencies/{world.ids['agency']}/batches/", data)
    preview = call(world, "clerk", "GET", uploaded.headers["Location"])
    history = call(world, "clerk", "GET", f"/agencies/{world.ids['agency']}/batches/")
    audit = call(world, "admin", "GET", "/admin/audit/?action=batch")

    assert uploaded.status_code == 302 and preview.status_code == 200
    assert_escaped(body(preview), name)
    assert_escaped(body(preview), SCRIPT)  # the payer name of the first new bill
    assert_escaped(body(history), name)
    assert_escaped(body(audit), name)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_refund_reasons(world, db, payload):
    item = world.ids["item"]
    path = f"/operations/payments/{world.ids['payment']}/items/{item}/refund"
    form = {f"item{item}-reason": payload, f"item{item}-idempotency_key": "xss-refund-key-000001"}

    refused = call(world, "fin", "POST", path, {**form, f"item{item}-amount": "lots"})
    refunded = call(world, "fin", "POST", path, {**form, f"item{item}-amount": "0.01"})
    resident_page = call(world, "res", "GET", f"/payments/{world.ids['payment']}")

    assert refused.status_code == 422 and refunded.status_code == 302
    assert_escaped(body(refused), payload)
    assert_escaped(body(resident_page), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_risk_notes_and_unfreeze_reasons(world, db, payload):
    with world.app.test_request_context():
        wallet_service(db).set_frozen(world.ids["owner"], True)
    # the world's own request is approved, so the queue shows the one written here as the one waiting
    db.execute(update(UnfreezeRequest).values(approved_by=world.ids["resident_id"], approved_at=utcnow()))
    flag = world.ids["flag"]

    noted = call(world, "admin", "POST", f"/admin/risk/{flag}/notes", {"text": payload})
    asked = call(
        world,
        "admin",
        "POST",
        "/admin/risk/unfreeze",
        {"user_id": str(world.ids["resident_id"]), "reason": payload},
    )
    case = call(world, "admin", "GET", f"/admin/risk/{flag}")
    queue = call(world, "admin", "GET", "/admin/risk/")

    assert noted.status_code == asked.status_code == 302
    assert_escaped(body(case), payload)
    assert_escaped(body(queue), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_staff_names(world, db, payload):
    form = {
        "email": "xss-staff@city.example.cn",
        "display_name": payload,
        "role": "finance",
        "agency": "",
        "password": "Tr0ub4dor&3-horse-staple",
    }

    created = call(world, "admin", "POST", "/admin/staff/new", form)
    staff = call(world, "admin", "GET", "/admin/staff")

    assert created.status_code == 302, body(created)
    assert_escaped(body(staff), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(
    ("role", "path", "fields"),
    [
        ("admin", "/admin/audit/", ("actor", "action", "subject")),
        ("admin", "/admin/audit/", ("date_from",)),
        ("fin", "/reports/collections", ("date_from",)),
        ("fin", "/reports/reconciliation", ("date_to",)),
        ("fin", "/reports/settlements", ("day",)),
        ("fin", "/operations/payments", ("reference",)),
        ("res", "/wallet/statement", ("date_from",)),
    ],
    ids=[
        "audit-text",
        "audit-date",
        "collections",
        "reconciliation",
        "settlements",
        "find-payment",
        "statement",
    ],
)
def test_filters(world, db, payload, role, path, fields):
    response = call(world, role, "GET", f"{path}?{urlencode(dict.fromkeys(fields, payload))}")

    assert response.status_code in (200, 400, 404)
    assert_escaped(body(response), payload)
