"""Rules flag or block real operations through the pages; officers review, escalate and freeze; a
frozen wallet cannot pay; unfreezing needs a second admin."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, func, select

from portal.audit.models import AuditEvent
from portal.notify.models import Notification
from portal.payments.models import Payment
from portal.risk.models import FlagStatus, RiskFlag, UnfreezeRequest
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import csrf_token_from, login, submit
from tests.factories import AdminFactory, BillFactory
from tests.payments.conftest import confirm_form, review
from tests.wallet.test_pages import post_move

STOPPED = "This operation was stopped by our safety checks. Call the hotline 12345 for help."


@pytest.fixture
def rules(app):
    """Sets one rule's action and threshold for the test."""

    def set_rule(name: str, **settings) -> None:
        app.config["RISK_RULES"] = {
            **app.config["RISK_RULES"],
            name: {**app.config["RISK_RULES"][name], **settings},
        }

    return set_rule


def _balance(app, db, user) -> int:
    with app.test_request_context():
        return wallet_service(db).balance(wallet_owner(user)).posted_fen


def _pay(client):
    html = review(client).get_data(as_text=True)
    return client.post("/payments/confirm", data=confirm_form(html))


def test_a_blocking_rule_refuses_a_top_up_and_keeps_the_flag(app, client, db, resident, rules):
    rules("single_amount", action="block", threshold_fen=100_000)
    submit(client, "/wallet/cards/new", {"card_number": "6222 0200 0000 0000 018"})
    before = _balance(app, db, resident)

    response, _ = post_move(client, "/wallet/top-up", "1,500")

    assert response.status_code == 200 and STOPPED in response.get_data(as_text=True)
    assert _balance(app, db, resident) == before
    flag = db.scalar(select(RiskFlag))
    assert (flag.rule, flag.operation, flag.amount_fen, flag.blocked) == (
        "single_amount",
        "top_up",
        150_000,
        True,
    )


def test_a_flagging_rule_lets_the_payment_through_and_queues_it(app, client, db, water, resident, rules):
    rules("single_amount", action="flag", threshold_fen=1)

    assert _pay(client).status_code == 302

    assert db.scalar(select(func.count()).select_from(Payment)) == 1
    flag = db.scalar(select(RiskFlag))
    assert (flag.operation, flag.blocked, flag.status) == ("payment", False, FlagStatus.OPEN)


def test_a_blocked_payment_moves_no_money(app, client, db, water, resident, rules):
    rules("many_payers", action="block", payers=1)
    before = _balance(app, db, resident)

    response = _pay(client)

    assert response.status_code == 302 and response.location.endswith("/payments/")
    assert STOPPED in client.get("/payments/").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    assert _balance(app, db, resident) == before
    assert db.scalar(select(RiskFlag.blocked)) is True


def _as_admin(app):
    officer = AdminFactory()
    admin_client = app.test_client()
    admin_client.get("/language/en")
    login(admin_client, officer.email)
    return officer, admin_client


def _frozen(app, db, user) -> bool:
    """What the requests left in the database: this session may still hold the wallet row it read before."""
    db.flush()  # expiring drops what is not flushed
    db.expire_all()
    with app.test_request_context():
        return wallet_service(db).balance(wallet_owner(user)).frozen


def _post(client, page_path: str, action: str, data: dict):
    page = client.get(page_path).get_data(as_text=True)
    return client.post(action, data={**data, "csrf_token": csrf_token_from(page)})


def test_an_officer_escalates_and_freezes_and_the_wallet_cannot_pay(app, client, db, water, resident, rules):
    rules("single_amount", action="flag", threshold_fen=1)
    _pay(client)
    flag = db.scalar(select(RiskFlag))
    officer, admin = _as_admin(app)
    case = f"/admin/risk/{flag.id}"

    _post(admin, case, f"{case}/assign", {})
    _post(admin, case, f"{case}/notes", {"text": "Pays for a whole building; asked for documents."})
    closed = _post(admin, case, f"{case}/close", {"outcome": "escalated", "freeze": "y"})
    assert closed.status_code == 302

    db.refresh(flag)
    assert (flag.status, flag.assigned_to, flag.closed_by) == (FlagStatus.ESCALATED, officer.id, officer.id)
    assert _frozen(app, db, resident)
    told = db.scalar(
        select(Notification).where(Notification.user_id == resident.id, Notification.kind == "frozen")
    )
    assert told is not None and told.dedupe_key == f"frozen:{flag.id}"  # the resident learns it at once
    report = admin.get(f"{case}/report.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[1][1] == f"Account no. {resident.id}"
    assert rows[2][:4] == ["Rule", "Single large amount", "Operation", "Bill payment"]
    assert rows[3][3] == "Escalated"  # the status in words
    assert any("asked for documents" in cell for row in rows for cell in row)
    assert "张*三" in report  # masked, never the full name

    BillFactory(agency=water, account_reference="3100200300", bill_no="W-3", amount_fen=1_000)
    refused = _pay(client)  # the frozen wallet tries to pay the new bill
    assert refused.status_code == 409
    assert "Your wallet is frozen" in refused.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Payment)) == 1


def test_the_case_page_marks_the_moves_that_came_after_the_flagged_one(app, client, db, resident, rules):
    rules("single_amount", action="flag", threshold_fen=1_000)
    submit(client, "/wallet/cards/new", {"card_number": "6222 0200 0000 0000 018"})
    post_move(client, "/wallet/top-up", "10")  # flagged
    post_move(client, "/wallet/top-up", "20")  # flagged too, a moment later
    first, second = db.scalars(select(RiskFlag).order_by(RiskFlag.id)).all()
    _, admin = _as_admin(app)

    first_case = admin.get(f"/admin/risk/{first.id}").get_data(as_text=True)
    second_case = admin.get(f"/admin/risk/{second.id}").get_data(as_text=True)

    assert first_case.count("(after the flag)") == 1  # the ¥20 top-up; the flagged ¥10 one is not marked
    assert second_case.count("(after the flag)") == 0


def test_clearing_a_flag_cannot_freeze_the_wallet(app, client, db, water, resident, rules):
    rules("single_amount", action="flag", threshold_fen=1)
    _pay(client)
    flag = db.scalar(select(RiskFlag))
    _, admin = _as_admin(app)
    case = f"/admin/risk/{flag.id}"

    refused = _post(admin, case, f"{case}/close", {"outcome": "cleared", "freeze": "y"})

    assert refused.status_code == 302
    assert "Only an escalated flag can freeze the wallet" in admin.get(case).get_data(as_text=True)
    db.refresh(flag)
    assert flag.status is FlagStatus.OPEN and flag.closed_at is None
    assert not _frozen(app, db, resident)


def test_unfreezing_needs_a_second_admin(app, client, db, water, resident):
    with app.test_request_context():
        wallet_service(db).set_frozen(wallet_owner(resident), True)
    _, first_client = _as_admin(app)
    _, second_client = _as_admin(app)

    _post(
        first_client,
        "/admin/risk/",
        "/admin/risk/unfreeze",
        {"user_id": resident.id, "reason": "Documents seen."},
    )
    pending = first_client.get("/admin/risk/").get_data(as_text=True)
    assert "Waiting for a second admin to approve." in pending and "Approve unfreezing" not in pending

    request_id = db.scalar(select(UnfreezeRequest.id))
    own = _post(first_client, "/admin/risk/", f"/admin/risk/unfreeze/{request_id}/approve", {})
    assert own.status_code == 302
    assert _frozen(app, db, resident)
    refused = db.scalar(select(AuditEvent).where(AuditEvent.action == "wallet.unfreeze_refused"))
    assert refused is not None and refused.subject == f"user:{resident.id}"  # the refusal is on record

    _post(second_client, "/admin/risk/", f"/admin/risk/unfreeze/{request_id}/approve", {})
    assert not _frozen(app, db, resident)
    kinds = db.scalars(select(Notification.kind).where(Notification.user_id == resident.id)).all()
    assert "unfrozen" in kinds


def test_a_frozen_wallet_sees_why_on_the_review_page_and_no_pay_button(app, client, db, water, resident):
    with app.test_request_context():
        wallet_service(db).set_frozen(wallet_owner(resident), True)

    page = review(client).get_data(as_text=True)

    assert (
        "Your wallet is frozen: it cannot pay, top up or withdraw. Call the hotline 12345 for help." in page
    )
    assert "Confirm and pay from my wallet" not in page
    assert 'href="/wallet/top-up"' not in page  # a frozen wallet cannot be topped up either
    assert 'action="/payments/confirm"' in page  # the bills are still listed, only the button is gone


def test_a_frozen_wallets_refused_top_up_raises_no_flag(app, client, db, resident, rules):
    rules("single_amount", action="flag", threshold_fen=100)  # any amount trips it
    submit(client, "/wallet/cards/new", {"card_number": "6222 0200 0000 0000 018"})
    _, sent = post_move(client, "/wallet/top-up", "10")  # a form from before the freeze, sent again after
    with app.test_request_context():
        wallet_service(db).set_frozen(wallet_owner(resident), True)
    db.flush()
    db.execute(delete(RiskFlag))  # the ordinary top-up above may have tripped the rule: start clean

    response = client.post("/wallet/top-up", data={**sent, "idempotency_key": "f" * 32})

    assert "Your wallet is frozen" in response.get_data(as_text=True)
    assert db.scalar(select(RiskFlag)) is None  # nothing went ahead, so nothing for an officer to review
    for path in ("/wallet/top-up", "/wallet/withdraw"):
        page = client.get(path).get_data(as_text=True)
        assert "Your wallet is frozen" in page and 'name="amount"' not in page  # no form that cannot be sent
    assert 'href="/wallet/top-up"' not in client.get("/wallet/").get_data(as_text=True)
