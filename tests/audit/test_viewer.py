"""The admin's audit viewer: filters, the chain check, the CSV export (neutralised, itself audited) and
who may see it."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, update

from portal.audit.models import AuditEvent
from portal.audit.services import record
from tests.conftest import login
from tests.factories import (
    AdminFactory,
    AgencyFactory,
    ClerkFactory,
    FinanceFactory,
    UserFactory,
)


@pytest.fixture
def admin(client, db):
    user = AdminFactory()
    record(db, "user:3", "payment.paid", "payment:P1", total_fen=4_680)
    record(db, "user:4", "refund.made", "payment:P1", reason='=HYPERLINK("x")')
    db.flush()  # the entries are read back by requests below
    client.get("/language/en")
    login(client, user.email)
    return user


def test_admin_filters_the_log(client, admin):
    page = client.get("/admin/audit/?action=refund").get_data(as_text=True)
    assert "refund.made" in page and "payment.paid" not in page


def test_entries_read_as_words_with_names_and_yuan(client, db, admin):
    resident = UserFactory(phone="13912345678")
    clerk = ClerkFactory(email="moved.clerk@city.example.cn")
    record(db, f"user:{resident.id}", "wallet.top_up", "transfer:T1", amount_fen=12_345)
    record(
        db,
        f"user:{admin.id}",
        "staff.role_changed",
        f"user:{clerk.id}",
        before={"role": "clerk"},
        after={"role": "finance"},
    )
    db.flush()

    page = client.get("/admin/audit/").get_data(as_text=True)

    assert "Wallet topped up" in page and "Amount: ¥123.45" in page
    assert "139****5678" in page and "13912345678" not in page  # a resident, masked
    assert admin.email in page and "Role now: Administrator" in page  # staff act in their own name
    assert "moved.clerk@city.example.cn" in page  # the object of the change, by name too
    assert "Role now: Resident" not in page  # a resident's role says nothing
    assert "Staff role or agency changed" in page and "Before: Role: Agency clerk" in page
    assert "After: Role: Finance" in page
    assert "refund.made" in page  # an event without a name yet shows its code

    mine = client.get(f"/admin/audit/?actor={admin.email}").get_data(as_text=True)
    assert "Staff role or agency changed" in mine and "Wallet topped up" not in mine
    theirs = client.get("/admin/audit/?actor=13912345678").get_data(as_text=True)
    assert "Wallet topped up" in theirs and "Staff role or agency changed" not in theirs


def test_details_of_money_campaign_and_autopay_events_read_as_words(client, db, admin):
    record(db, "user:3", "payment.refunded", "payment:P1", campaign_fen=500, refund="R1", bill="B1")
    record(db, "user:3", "campaign.proposed", "campaign:C1", rule="spend_over", first_day="2026-12-01")
    record(db, "user:3", "autopay.changed", "saved_account:1", enabled=True, monthly_cap_fen=20_000)
    record(db, "worker", "autopay.failed", "saved_account:1", reason="cap")
    agency = AgencyFactory(name_en="Harbour Water")
    record(
        db, "user:3", "staff.role_changed", "user:9", before={"agency": agency.code}, after={"agency": None}
    )
    record(db, "user:3", "outbox.resend", "outbox:1", topic="agency.confirm")
    record(db, "user:3", "payment.paid", "payment:P2", bills=["B1", "B2"])
    record(db, "user:3", "risk.assigned", "risk_flag:7")
    record(db, "anonymous", "login.failed", "login", reason="unknown account")
    record(db, "user:3", "report.export", "report:collections", to="2026-11-30")
    db.flush()

    page = client.get("/admin/audit/").get_data(as_text=True)

    assert "Paid by the campaign: ¥5.00" in page and "Refund: R1" in page
    assert "Rule: Spend at least an amount, get an amount off" in page and "First day: 2026-12-01" in page
    assert "Switched on: yes" in page and "Monthly cap: ¥200.00" in page
    assert "Why: over the monthly cap" in page
    assert "Before: Agency: Harbour Water" in page  # the agency by name
    assert "Message: payment confirmation to the agency" in page
    assert "Bill numbers: B1, B2" in page
    assert "Risk flag 7" in page and "Payment P2" in page and "The login page" in page  # objects in words
    assert "The collections report" in page and "Last day: 2026-11-30" in page
    for code in ("campaign_fen", "spend_over", "monthly_cap_fen", "agency.confirm", agency.code):
        assert code not in page


def test_checking_the_chain_says_intact_or_names_the_entry(client, db, admin):
    assert "The chain is intact." in client.get("/admin/audit/?verify=1").get_data(as_text=True)

    db.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 1).values(actor="user:99"))
    page = client.get("/admin/audit/?verify=1").get_data(as_text=True)

    assert "The chain is broken" in page and "Entry 1" in page and "was changed" in page


def test_the_export_is_spreadsheet_safe_and_audited(client, db, admin):
    response = client.get("/admin/audit/export.csv?action=refund")

    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Entry", "Time (Beijing)", "Who"]
    assert len(rows) == 2 and rows[1][3] == "refund.made"
    assert rows[1][5].startswith('{"reason": "=HYPERLINK')  # JSON text: it starts with "{", not "="
    exported = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.export"))
    assert exported.actor == f"user:{admin.id}"
    assert exported.details_json == '{"filter": {"action": "refund"}}'


@pytest.mark.parametrize("make_user", [UserFactory, ClerkFactory, FinanceFactory])
def test_only_admins_see_the_log(client, db, make_user):
    user = make_user()
    login(client, user.email or user.phone)
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_a_reversed_date_range_is_explained(client, admin):
    response = client.get("/admin/audit/?date_from=2026-11-20&date_to=2026-11-01")

    assert response.status_code == 400
    assert "The end date must be on or after the start date." in response.get_data(as_text=True)
