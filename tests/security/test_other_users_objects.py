"""Another user's object ids answer 404, exactly as an id that does not exist: no 403 that would confirm
it exists, no data of it, and nothing changed."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from portal.batches.models import Batch, BatchStatus
from portal.bills.models import SavedAccount
from portal.clock import business_day
from portal.db import utcnow
from tests.security.helpers import FIXED_REQUEST_ID, body, call

# role, method, another's object, a missing one: the same page must come back for both. {agency} and
# {batch} belong to clerk's agency, {other_agency} and {other_batch} to clerk2's; {payment} is res's.
# A: and O: stand for the batches of the agency and of the other agency.
TABLE = """
res2    GET   /payments/{payment}                               /payments/PNOSUCHPAYMENT00
res     GET   /payments/{other_payment}                         /payments/PNOSUCHPAYMENT00
res2    GET   /payments/{payment}/receipts/{receipt}.pdf        /payments/PNOSUCHPAYMENT00/receipts/R1.pdf
res     GET   /payments/{payment}/receipts/{other_receipt}.pdf  /payments/{payment}/receipts/RNOSUCH.pdf
res2    POST  /bills/mine/{account}/delete                      /bills/mine/987654321/delete
clerk2  GET   /agencies/{agency}/                               /agencies/no-such-agency/
clerk2  GET   A:/                                               /agencies/no-such-agency/batches/
clerk2  GET   A:/template.csv                                   /agencies/no-such-agency/batches/template.csv
clerk2  POST  A:/                                               /agencies/no-such-agency/batches/
clerk2  GET   A:/{batch}                                        A:/UNOSUCH
clerk2  GET   O:/{batch}                                        O:/UNOSUCH
clerk   GET   A:/{other_batch}                                  A:/UNOSUCH
clerk2  GET   A:/{batch}/errors.csv                             A:/UNOSUCH/errors.csv
clerk2  GET   O:/{batch}/errors.csv                             O:/UNOSUCH/errors.csv
clerk2  GET   A:/{batch}/status.json                            A:/UNOSUCH/status.json
clerk2  GET   O:/{batch}/status.json                            O:/UNOSUCH/status.json
clerk2  POST  A:/{batch}/commit                                 A:/UNOSUCH/commit
clerk2  POST  O:/{batch}/commit                                 O:/UNOSUCH/commit
clerk2  POST  A:/{batch}/withdraw                               A:/UNOSUCH/withdraw
clerk2  POST  O:/{batch}/withdraw                               O:/UNOSUCH/withdraw
"""
SHORTHAND = {"A:": "/agencies/{agency}/batches", "O:": "/agencies/{other_agency}/batches"}
CASES = [
    tuple(SHORTHAND.get(cell[:2], cell[:2]) + cell[2:] for cell in line.split())
    for line in TABLE.strip().splitlines()
]
# What the owner's pages show and nobody else's may: amounts, payer, file name, the household number.
OWNERS_TEXTS = ("46.80", "33.30", "张小三", "*小三", "november.csv", "3100200300", "Home water", "王五")


def _page(response) -> str:
    """The page without the language links, which carry the requested address back (?next=...), and
    without the CSRF tokens of its forms, which carry the time they were signed."""
    page = re.sub(r'next=[^"]*"', 'next="', body(response))
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", page)


def _snapshot(db, world) -> tuple:
    batch = db.scalar(select(Batch).where(Batch.upload_id == world.ids["batch"]))
    return (
        db.scalar(select(func.count()).select_from(SavedAccount)),
        db.scalar(select(func.count()).select_from(Batch)),
        batch.status,
        batch.committed_by,
        batch.withdrawn_by,
    )


@pytest.mark.parametrize(
    ("role", "method", "theirs", "missing"), CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES]
)
def test_another_users_object_is_as_missing_as_a_missing_one(world, db, role, method, theirs, missing):
    before = _snapshot(db, world)

    other = call(world, role, method, theirs.format(**world.ids))
    absent = call(world, role, method, missing.format(**world.ids))

    assert other.status_code == 404 and absent.status_code == 404
    assert _page(other) == _page(absent)  # the same page: nothing tells that the object exists
    assert other.headers["X-Request-ID"] == FIXED_REQUEST_ID
    assert not [text for text in OWNERS_TEXTS if text in body(other)]
    assert _snapshot(db, world) == before  # nothing deleted, committed, withdrawn or uploaded
    assert before[2] is BatchStatus.PREVIEWED


def test_a_clerk_uploading_to_another_agency_gets_404_and_stores_nothing(world, db):
    client = world.clients["clerk2"]
    before = db.scalar(select(func.count()).select_from(Batch))
    data = {"file": (io.BytesIO(b"a,b\n1,2\n"), "bills.csv"), "csrf_token": world.csrf["clerk2"]}

    response = client.post(
        f"/agencies/{world.ids['agency']}/batches/", data=data, content_type="multipart/form-data"
    )

    assert response.status_code == 404
    assert db.scalar(select(func.count()).select_from(Batch)) == before


def test_a_clerk_asking_for_another_agencys_collections_sees_only_their_own(world, db):
    today = business_day(utcnow())
    query = f"date_from={today.replace(day=1)}&date_to={today}&agency={world.ids['agency']}"
    own = call(world, "clerk2", "GET", "/reports/collections")
    asked = call(world, "clerk2", "GET", f"/reports/collections?{query}")
    export = call(world, "clerk2", "GET", f"/reports/collections.csv?{query}")
    finance = call(world, "fin", "GET", f"/reports/collections.csv?{query}")

    assert own.status_code == asked.status_code == export.status_code == 200
    assert "Security Water" not in body(asked) and "Security Gas" in body(asked)
    assert world.ids["payment"] not in body(export) and "46.80" not in body(export)
    assert "46.80" in body(finance)  # the same export for finance has the line: the filter did the work
