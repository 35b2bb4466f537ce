"""A dispute from the resident's complaint to the agency's answer, finance's refund and the close,
through the pages; the rules of its states, deadlines and attachment."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import utcnow
from portal.disputes import services
from portal.disputes.models import Dispute, DisputeState
from portal.notify.models import Notification
from portal.payments.models import Payment, Refund
from tests.conftest import csrf_token_from, login
from tests.disputes.files import image, pdf
from tests.factories import ClerkFactory, FinanceFactory
from tests.payments.conftest import confirm_form, resident, review, water  # noqa: F401
from tests.payments.test_refunds import wallet_balance


@pytest.fixture
def paid(client, db, water, resident):  # noqa: F811
    html = review(client, ["W-1"]).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    return db.scalar(sa.select(Payment))


def staff_client(app, factory, **fields):
    user = factory(**fields)
    client = app.test_client()
    client.get("/language/en")
    login(client, user.email)
    return client, user


def open_dispute(client, payment, files=None, **fields):
    page = client.get(f"/disputes/new/{payment.reference}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(page),
        "bill": str(payment.items[0].id),
        "kind": "still_unpaid",
        "description": "The water company still shows bill W-1 unpaid.",
        **fields,
    }
    if files is not None:
        data["attachment"] = files
    return client.post(f"/disputes/new/{payment.reference}", data=data, content_type="multipart/form-data")


def post(client, path, **data):
    page = client.get(path.rsplit("/", 1)[0]).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_from(page), **data})


def test_a_dispute_is_refunded_through_the_desk_and_closed(app, client, db, water, paid, resident):  # noqa: F811
    before = wallet_balance(app, db, resident)
    opened = open_dispute(client, paid, (io.BytesIO(image()), "proof.png"))
    assert opened.status_code == 302
    dispute = db.scalar(sa.select(Dispute))
    assert dispute.state is DisputeState.OPEN and dispute.attachment.content_type == "image/png"
    assert dispute.due_at is not None
    finance, _f = staff_client(app, FinanceFactory, email="finance-disputes@city.example.cn")
    clerk, _c = staff_client(app, ClerkFactory, email="clerk-disputes@water.example.cn", agency=water)
    case = f"/staff/disputes/{dispute.reference}"
    assert dispute.reference in clerk.get("/staff/disputes/").get_data(as_text=True)
    assert clerk.get(f"{case}/attachment").data == image()

    assert post(finance, f"{case}/send", note="Please check W-1.").status_code == 302
    assert (
        post(clerk, f"{case}/answer", text="Our records missed the payment; now corrected.").status_code
        == 302
    )
    resolve = {"outcome": "refunded", "amount": "46.80", "reason": "Refunded while the agency corrects."}
    assert post(finance, f"{case}/resolve", **resolve).status_code == 302
    assert post(finance, f"{case}/resolve", **resolve).status_code == 302  # sent twice: refunded once

    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
    assert wallet_balance(app, db, resident) == before + 4_680
    assert dispute.state is DisputeState.RESOLVED and dispute.refund_id is not None
    page = client.get(f"/disputes/{dispute.reference}").get_data(as_text=True)
    assert "Our records missed the payment" in page and "Refunded while the agency corrects." in page
    assert post(client, f"/disputes/{dispute.reference}/close").status_code == 302
    db.expire_all()
    assert dispute.state is DisputeState.CLOSED
    steps = [step.state.value for step in dispute.steps]
    assert steps == ["open", "with_agency", "answered", "resolved", "closed"]
    told = db.scalars(sa.select(Notification.dedupe_key).where(Notification.kind == "dispute")).all()
    assert len(told) == 5  # one notice per step
    audited = db.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("dispute.%")).order_by(AuditEvent.seq)
    ).all()
    assert audited == [f"dispute.{state}" for state in steps]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("proof.png", b"<html><script>alert(1)</script></html>", "is not the PNG, JPEG or PDF its name says"),
        ("proof.png", pdf(), "is not the PNG, JPEG or PDF its name says"),
        ("proof.exe", image(), "Attach a PNG, JPEG or PDF file."),
        ("big.png", image() + b"\0" * (5 * 1024 * 1024), "larger than 5 MB"),
        ("cut.jpg", image("JPEG")[:200], "is not the PNG, JPEG or PDF its name says"),
        ("half.jpg", image("JPEG", (400, 300))[:-300], "is not the PNG, JPEG or PDF its name says"),
    ],
)
def test_an_attachment_that_is_not_what_it_says_is_refused(client, db, paid, name, content, message):
    refused = open_dispute(client, paid, (io.BytesIO(content), name))

    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 0  # nothing half-made


def test_a_jpeg_and_a_pdf_are_taken(client, db, paid):
    assert open_dispute(client, paid, (io.BytesIO(pdf()), "scan.PDF")).status_code == 302
    assert db.scalar(sa.select(Dispute)).attachment.content_type == "application/pdf"


def test_one_dispute_per_bill_and_none_on_anothers_payment(app, client, db, paid):
    assert open_dispute(client, paid).status_code == 302
    again = open_dispute(client, paid)
    assert again.status_code == 400 and "already have a dispute on this bill" in again.get_data(as_text=True)
    other = app.test_client()
    from tests.factories import UserFactory

    UserFactory(phone="13900000777")
    login(other, "13900000777")
    assert other.get(f"/disputes/new/{paid.reference}").status_code == 404
    reference = db.scalar(sa.select(Dispute.reference))
    assert other.get(f"/disputes/{reference}").status_code == 404
    assert other.get(f"/disputes/{reference}/attachment").status_code == 404


def test_states_move_forward_and_reopen_only_within_the_window(app, client, db, water, paid, resident):  # noqa: F811
    open_dispute(client, paid)
    dispute = db.scalar(sa.select(Dispute))
    finance, finance_user = staff_client(app, FinanceFactory, email="finance-states@city.example.cn")
    clerk, _c = staff_client(app, ClerkFactory, email="clerk-states@water.example.cn", agency=water)
    case = f"/staff/disputes/{dispute.reference}"
    rejected = post(finance, f"{case}/resolve", outcome="rejected", reason="")
    assert rejected.status_code == 400 and "Say why the dispute is rejected." in rejected.get_data(
        as_text=True
    )
    assert post(finance, f"{case}/resolve", outcome="rejected", reason="Paid in full.").status_code == 302
    late = post(clerk, f"{case}/answer", text="Too late to answer")
    assert late.status_code == 400 and "moved on" in late.get_data(as_text=True)

    assert (
        post(
            client, f"/disputes/{dispute.reference}/reopen", why="The agency still asks me to pay."
        ).status_code
        == 302
    )
    db.expire_all()
    assert dispute.state is DisputeState.OPEN and dispute.reopened == 1 and dispute.outcome is None
    with app.test_request_context():
        services.resolve(
            db, None, finance_user, dispute.reference, services.DisputeOutcome.CORRECTED, "Fixed."
        )
        dispute.resolved_at = utcnow() - timedelta(days=services.REOPEN_DAYS, seconds=1)
        db.flush()  # the window is read from the row
        assert services.actions_for(resident, dispute) == {"close"}
        with pytest.raises(services.ValidationFailed):
            services.reopen(db, resident, dispute.reference, "I still do not agree with it.")


def test_the_worker_closes_what_nobody_reopened_and_overdue_stands_out(app, client, db, paid):
    open_dispute(client, paid)
    dispute = db.scalar(sa.select(Dispute))
    finance, _user = staff_client(app, FinanceFactory, email="finance-worker@city.example.cn")
    dispute.due_at = utcnow() - timedelta(hours=1)
    db.flush()  # the queue reads the deadline
    queue = finance.get("/staff/disputes/").get_data(as_text=True)
    assert re.search(r'table__row--overdue">\s*<td[^>]*><a href="/staff/disputes/' + dispute.reference, queue)
    post(finance, f"/staff/disputes/{dispute.reference}/resolve", outcome="corrected", reason="Fixed.")
    db.expire_all()
    dispute.resolved_at = utcnow() - timedelta(days=16)
    db.flush()  # the worker reads it on its own session

    with app.app_context():
        database = app.extensions["portal.db"]
        assert services.close_expired(database, utcnow()) == 1
        assert services.close_expired(database, utcnow()) == 0
    db.expire_all()
    assert dispute.state is DisputeState.CLOSED and dispute.steps[-1].actor == "worker"


def test_finance_counts_disputes_on_the_dashboard_and_exports_them(app, client, db, paid):
    open_dispute(client, paid)
    dispute = db.scalar(sa.select(Dispute))
    finance, _user = staff_client(app, FinanceFactory, email="finance-report@city.example.cn")
    dispute.due_at = utcnow() - timedelta(minutes=5)
    db.flush()  # the dashboard reads it on the request's session

    board = finance.get("/reports/").get_data(as_text=True)
    assert re.search(r"Disputes open</dt><dd><a [^>]+>1</a> <span[^>]*>1 overdue", board)
    post(finance, f"/staff/disputes/{dispute.reference}/resolve", outcome="corrected", reason="Fixed.")
    exported = list(csv.reader(io.StringIO(finance.get("/reports/disputes.csv").get_data(as_text=True))))

    assert exported[0][:5] == ["\ufeffDispute", "Agency", "What went wrong", "Status", "Decision"]
    assert exported[1][:5] == [
        dispute.reference,
        "Test Water",
        "Paid, but the agency still shows the bill unpaid",
        "Resolved",
        "Corrected by the agency",
    ]


def test_another_decision_on_a_resolved_dispute_finds_it_moved_on(app, client, db, water, paid):  # noqa: F811
    open_dispute(client, paid)
    dispute = db.scalar(sa.select(Dispute))
    first, _a = staff_client(app, FinanceFactory, email="finance-first@city.example.cn")
    second, _b = staff_client(app, FinanceFactory, email="finance-second@city.example.cn")
    case = f"/staff/disputes/{dispute.reference}"
    assert post(first, f"{case}/send", note="Internal: check the ledger line.").status_code == 302
    assert post(first, f"{case}/resolve", outcome="rejected", reason="Paid in full.").status_code == 302

    late = post(second, f"{case}/resolve", outcome="refunded", amount="46.80", reason="")
    assert late.status_code == 400 and "moved on" in late.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    resident_page = client.get(f"/disputes/{dispute.reference}").get_data(as_text=True)
    assert "Internal: check the ledger line." not in resident_page  # finance's note to the agency
    assert "Internal: check the ledger line." in first.get(case).get_data(as_text=True)


def test_a_reopened_dispute_starts_a_new_round(app, client, db, water, paid):  # noqa: F811
    open_dispute(client, paid)
    dispute = db.scalar(sa.select(Dispute))
    finance, _f = staff_client(app, FinanceFactory, email="finance-round@city.example.cn")
    post(finance, f"/staff/disputes/{dispute.reference}/resolve", outcome="corrected", reason="Fixed.")
    post(client, f"/disputes/{dispute.reference}/reopen", why="It still shows unpaid at the agency.")
    db.expire_all()

    assert (dispute.state, dispute.answered_at, dispute.resolved_at) == (DisputeState.OPEN, None, None)
    exported = finance.get("/reports/disputes.csv").get_data(as_text=True)
    assert f"{dispute.reference}," in exported and ",Open,," in exported  # no stale resolution date
