"""The analytics pages and exports: for finance and admin staff only, aggregates without a name, phone or
account number, "<10" where a figure comes from fewer than ten residents, and every view and export in
the audit log. A refund after the roll-up corrects its day once the worker has scanned."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import worker
from portal.agencies.models import AgencyCategory
from portal.analytics import rollup
from portal.analytics.models import ChannelDay, RolledDay
from portal.audit.models import AuditEvent
from portal.clock import aware, business_day
from portal.db import utcnow
from portal.payments.models import PaymentChannel
from tests.analytics.conftest import beijing, pay
from tests.conftest import login
from tests.factories import AdminFactory, AgencyFactory, FinanceFactory, UserFactory
from tests.payments.conftest import resident, water  # noqa: F401
from tests.payments.test_refunds import paid, refund  # noqa: F401


@pytest.fixture
def day():
    return business_day(utcnow())


@pytest.fixture
def rolled(app, db, day):
    agency = AgencyFactory(code="an-page", category=AgencyCategory.WATER)
    payers = [UserFactory(real_name="李四", phone=f"1380000{n:04d}") for n in range(12)]
    for person in payers:
        pay(db, person, beijing(day, 9), [(agency, 1_000, 0, day)])
    pay(db, None, beijing(day, 15), [(agency, 700, 0, None)], channel=PaymentChannel.COUNTER)
    with app.app_context():
        rollup.roll_up_day(db, day)
    return payers


def staff_client(app, factory):
    client = app.test_client()
    client.get("/language/en")
    staff = factory()
    login(client, staff.email)
    return client, staff


def test_finance_sees_adoption_and_behaviour_without_anyone_singled_out(app, db, day, rolled):
    client, staff = staff_client(app, FinanceFactory)
    query = f"date_from={day.isoformat()}&date_to={day.isoformat()}&grain=day"

    adoption = client.get(f"/analytics/?{query}")
    assert adoption.status_code == 200
    html = adoption.get_data(as_text=True)
    assert "¥120.00" in html and ">12<" in html  # 12 payments of ¥10 by 12 active payers
    assert "<svg" in html and "Residents&#39; bill payments per period" in html
    behaviour = client.get(f"/analytics/behaviour?{query}").get_data(as_text=True)
    assert "Service hall counter" in behaviour and "&lt;10" in behaviour  # one counter payer: withheld
    assert "<svg" in behaviour and "<table" in behaviour
    for page in (html, behaviour):
        assert "李四" not in page and "13800000000" not in page and "1000200030" not in page

    views = db.scalars(
        sa.select(AuditEvent.subject).where(
            AuditEvent.action == "analytics.viewed", AuditEvent.actor == f"user:{staff.id}"
        )
    ).all()
    assert views == ["analytics:adoption", "analytics:behaviour"]


def test_exports_carry_the_same_figures_and_are_audited(app, db, day, rolled):
    client, _staff = staff_client(app, AdminFactory)
    query = f"date_from={day.isoformat()}&date_to={day.isoformat()}&grain=day"

    channels = client.get(f"/analytics/channels.csv?{query}")
    assert channels.status_code == 200 and channels.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(channels.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Channel", "Payments", "Share (per cent)"]
    assert rows[1][:2] == ["Portal", "12"] and rows[2][:2] == ["Service hall counter", "<10"]
    workbook = client.get(f"/analytics/adoption.xlsx?{query}")
    assert workbook.status_code == 200
    sheet = zipfile.ZipFile(io.BytesIO(workbook.data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>12</v>" in sheet and "120.00" in sheet
    assert client.get(f"/analytics/payers.csv?{query}").status_code == 404
    exported = db.scalars(
        sa.select(AuditEvent.subject).where(AuditEvent.action == "analytics.exported")
    ).all()
    assert exported == ["analytics:channels", "analytics:adoption"]


@pytest.mark.parametrize("who", ["resident", "clerk"])
def test_the_pages_are_for_finance_and_admin_only(app, db, who):
    from tests.factories import ClerkFactory

    client = app.test_client()
    if who == "resident":
        login(client, UserFactory().phone)
    else:
        login(client, ClerkFactory(agency=AgencyFactory()).email)
    assert client.get("/analytics/").status_code == 403
    assert client.get("/analytics/adoption.csv").status_code == 403


def test_a_bad_range_is_told_on_the_page(app, db):
    client, _staff = staff_client(app, FinanceFactory)
    answer = client.get("/analytics/?date_from=2026-01-10&date_to=2026-01-01&grain=day")
    assert answer.status_code == 400 and "on or after the start date" in answer.get_data(as_text=True)
    too_long = client.get("/analytics/?date_from=2024-01-01&date_to=2026-01-01&grain=day")
    assert too_long.status_code == 400 and "choose a shorter range or longer periods" in too_long.get_data(
        as_text=True
    )
    by_month = client.get("/analytics/behaviour?date_from=2024-01-01&date_to=2026-01-01&grain=month")
    assert by_month.status_code == 200
    assert client.get("/analytics/?grain=year&date_from=x").status_code == 400


def test_a_refund_after_the_roll_up_corrects_its_day(app, client, db, paid):  # noqa: F811
    paid.paid_at = aware(paid.paid_at) - timedelta(days=3)  # an older day: the scan's today is not it
    db.flush()
    day = business_day(paid.paid_at)
    with app.app_context():
        rollup.roll_up_day(db, day)
    before = db.get(ChannelDay, (day, PaymentChannel.WEB)).refunded_fen

    refund(client, paid, "W-1", "10.00")
    db.expire_all()
    assert db.get(RolledDay, day).stale is True
    with app.app_context():
        worker.scan(app.extensions["portal.db"])
    db.expire_all()
    assert db.get(ChannelDay, (day, PaymentChannel.WEB)).refunded_fen == before + 1_000


@pytest.mark.parametrize(
    "stray", ["name=x", "kind=x", "endpoint=x", "_method=POST", "_external=1", "_anchor=x"]
)
def test_a_stray_query_key_is_no_argument_of_the_links(app, db, day, stray):
    client, _staff = staff_client(app, FinanceFactory)
    query = f"date_from={day.isoformat()}&date_to={day.isoformat()}&grain=day&{stray}"
    for path in ("/analytics/", "/analytics/behaviour", "/analytics/promotions", "/analytics/live"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 200, (path, stray)
        assert "http://" not in answer.get_data(as_text=True).split("<main", 1)[-1]  # links stay relative
    assert client.get(f"/analytics/channels.csv?{query}").status_code == 200
    assert client.get(f"/analytics/?{stray}").status_code == 400  # no dates: told so, not a 500


def test_the_live_panels_polls_keep_no_staff_session_alive(app, db):
    from portal.accounts.models import LoginSession

    client, staff = staff_client(app, FinanceFactory)
    session_row = db.scalar(sa.select(LoginSession).where(LoginSession.user_id == staff.id))
    earlier = utcnow() - timedelta(minutes=5)
    session_row.last_seen_at = earlier
    db.flush()
    assert client.get("/analytics/live/panel", headers={"X-Background-Poll": "1"}).status_code == 200
    db.expire_all()
    assert abs((aware(db.get(LoginSession, session_row.id).last_seen_at) - earlier).total_seconds()) < 1
    assert client.get("/analytics/live/panel").status_code == 200  # someone at the screen: noted
    db.expire_all()
    assert aware(db.get(LoginSession, session_row.id).last_seen_at) > earlier + timedelta(minutes=4)
