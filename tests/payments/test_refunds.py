import io
import json
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, func, select

from portal.bills.models import Bill, StoredBillStatus
from portal.outbox import OutboxMessage
from portal.payments.models import ItemState, Payment, PaymentState, Refund
from portal.receipts.models import Receipt, ReceiptKind
from portal.receipts.tokens import verification_token
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import csrf_token_from, login, logout
from tests.factories import FinanceFactory
from tests.payments.conftest import confirm_form, review

_NOTICE = re.compile(r'<div class="notice[^>]*>.*?</div>', re.S)
_KEY = re.compile(r'name="item(\d+)-idempotency_key" type="hidden" value="([^"]+)"')


@pytest.fixture
def paid(client, db, water, resident):
    """A payment of both water bills (¥68.20), then a finance officer logged in."""
    html = review(client).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    logout(client)
    FinanceFactory(email="finance@example.gov.cn")
    login(client, "finance@example.gov.cn")
    return db.scalar(select(Payment))


def refund(client, payment, bill_no, amount, reason="Paid twice", key=None):
    page = client.get(f"/operations/payments/{payment.reference}").get_data(as_text=True)
    item = next(i for i in payment.items if i.bill_id == bill_no)
    keys = dict(_KEY.findall(page))
    data = {
        f"item{item.id}-amount": amount,
        f"item{item.id}-reason": reason,
        f"item{item.id}-idempotency_key": key or keys[str(item.id)],
        f"item{item.id}-csrf_token": csrf_token_from(page),
    }
    return client.post(f"/operations/payments/{payment.reference}/items/{item.id}/refund", data=data)


def wallet_balance(app, db, user) -> int:
    db.expire_all()
    with app.app_context():
        return wallet_service(db).balance(wallet_owner(user)).posted_fen


def test_full_refund_of_a_bill_returns_money_reopens_the_bill_and_issues_a_refund_receipt(
    app, client, db, paid, resident
):
    before = wallet_balance(app, db, resident)

    response = refund(client, paid, "W-2", "20.00")

    assert response.status_code == 302
    assert wallet_balance(app, db, resident) == before + 2_000
    db.expire_all()
    item = next(i for i in paid.items if i.bill_id == "W-2")
    assert item.state is ItemState.REFUNDED and item.refunded_fen == 2_000
    assert db.scalar(select(Bill.status).where(Bill.bill_no == "W-2")) is StoredBillStatus.UNPAID
    assert db.scalar(select(func.count()).select_from(Receipt).where(Receipt.kind == ReceiptKind.REFUND)) == 1
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.topic == "agency.refund")) is not None
    assert paid.state is PaymentState.PAID and paid.refunded_fen == 2_000


def test_partial_refunds_never_exceed_what_was_paid(app, client, db, paid, resident):
    assert refund(client, paid, "W-1", "40.00").status_code == 302

    too_much = refund(client, paid, "W-1", "8.21")  # ¥48.20 paid, ¥8.20 left

    assert too_much.status_code == 422 and "Refund at most ¥8.20" in too_much.get_data(as_text=True)
    assert refund(client, paid, "W-1", "8.20").status_code == 302
    assert db.scalar(select(func.sum(Refund.amount_fen))) == 4_820


def test_each_refund_key_is_used_once(app, client, db, paid, resident):
    page = client.get(f"/operations/payments/{paid.reference}").get_data(as_text=True)
    item = next(i for i in paid.items if i.bill_id == "W-2")
    key = dict(_KEY.findall(page))[str(item.id)]
    before = wallet_balance(app, db, resident)

    refund(client, paid, "W-2", "5.00", key=key)
    refund(client, paid, "W-2", "5.00", key=key)  # a double click

    assert wallet_balance(app, db, resident) == before + 500
    assert db.scalar(select(func.count()).select_from(Refund)) == 1


def test_refunding_every_bill_marks_the_payment_refunded(app, client, db, paid, resident):
    refund(client, paid, "W-1", "48.20")
    refund(client, paid, "W-2", "20.00")

    db.expire_all()
    assert paid.state is PaymentState.REFUNDED and paid.refunded_fen == paid.total_fen


def test_refund_needs_a_reason_and_a_finance_officer(app, client, db, paid, resident):
    no_reason = refund(client, paid, "W-2", "1.00", reason="")
    assert no_reason.status_code == 422 and "Say why the money is refunded" in no_reason.get_data(
        as_text=True
    )
    logout(client)
    login(client, "13900000001")  # the resident
    assert client.get(f"/operations/payments/{paid.reference}").status_code == 403


def test_the_resident_sees_the_refund_and_its_receipt(app, client, db, paid, resident):
    refund(client, paid, "W-2", "20.00")
    logout(client)
    login(client, "13900000001")

    page = client.get(f"/payments/{paid.reference}").get_data(as_text=True)

    assert "Refund receipt" in page and "¥20.00" in page and "Paid twice" in page  # the reason
    number = db.scalar(select(Receipt.number).where(Receipt.kind == ReceiptKind.REFUND))
    pdf = client.get(f"/payments/{paid.reference}/receipts/{number}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "退款凭证" in text and "贰拾元整" in text and "Paidtwice" in text and "W-2" in text
    assert "W-1" not in text  # a refund receipt lists the refunded bill only


def _verification_page(app, client, db, paid, language="en") -> str:
    number = db.scalar(
        select(Receipt.number).where(Receipt.payment_id == paid.id, Receipt.kind == ReceiptKind.PAYMENT)
    )
    with app.app_context():
        token = verification_token(number)
    client.get(f"/language/{language}")
    return client.get(f"/receipts/verify/{token}").get_data(as_text=True)


def test_a_part_refund_is_told_on_the_verification_page_with_what_still_stands(app, client, db, paid):
    refund(client, paid, "W-2", "20.00")

    page = _verification_page(app, client, db, paid)

    assert "This receipt is genuine." in page
    assert "Part of this payment was refunded." in page
    assert "¥20.00 was refunded to the payer" in page and "¥48.20 still stands as paid" in page


@pytest.mark.parametrize(
    ("language", "banner", "genuine"),
    [
        ("en", "Refunded: this receipt is no longer proof of payment.", "This receipt is genuine."),
        ("zh_CN", "已退款：本凭证不再作为缴费证明。", "该凭证真实有效。"),
    ],
)
def test_a_full_refund_shows_no_genuine_banner_but_not_proof_of_payment(
    app, client, db, paid, language, banner, genuine
):
    refund(client, paid, "W-1", "48.20")
    refund(client, paid, "W-2", "20.00")

    page = _verification_page(app, client, db, paid, language)

    notices = _NOTICE.findall(page)
    assert any(banner in notice for notice in notices)
    assert not any(genuine in notice for notice in notices)


def _payment_receipt_text(client, db, paid) -> tuple[str, str]:
    """The text of a new download of the payment receipt, and its ETag."""
    number = db.scalar(
        select(Receipt.number).where(Receipt.payment_id == paid.id, Receipt.kind == ReceiptKind.PAYMENT)
    )
    response = client.get(f"/payments/{paid.reference}/receipts/{number}.pdf")
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.data)).pages
    return "".join("".join(page.extract_text().split()) for page in pages), response.headers["ETag"]


def test_a_new_download_after_a_refund_says_so_in_both_languages(app, client, db, paid):
    logout(client)
    login(client, "13900000001")
    before, first_etag = _payment_receipt_text(client, db, paid)
    assert "退款" not in before and "refunded" not in before.lower()
    logout(client)
    login(client, "finance@example.gov.cn")
    refund(client, paid, "W-2", "20.00")
    logout(client)
    login(client, "13900000001")

    part, part_etag = _payment_receipt_text(client, db, paid)

    assert part_etag != first_etag  # the stored PDF was replaced, not served again from a cache
    assert "已部分退款" in part and "Partlyrefunded" in part
    assert "已退款¥20.00" in part and "¥48.20stillstandsaspaid" in part
    assert "不再作为缴费证明" not in part
    logout(client)
    login(client, "finance@example.gov.cn")
    refund(client, paid, "W-1", "48.20")
    logout(client)
    login(client, "13900000001")

    full, _ = _payment_receipt_text(client, db, paid)

    assert "已全额退款：本凭证不再作为缴费证明" in full
    assert "Refundedinfull:thisreceiptisnolongerproofofpayment" in full and "¥68.20refunded" in full


def test_the_worker_renders_the_payment_receipt_again_after_a_refund(app, client, db, paid):
    refund(client, paid, "W-2", "20.00")
    payment_receipt = db.scalar(
        select(Receipt).where(Receipt.payment_id == paid.id, Receipt.kind == ReceiptKind.PAYMENT)
    )

    again = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"receipt:{payment_receipt.number}:refunded:2000"
        )
    )

    assert again is not None and again.topic == "receipt.render"
    payload = json.loads(again.payload_json)
    assert payload["receipt"] == payment_receipt.id
    assert set(payload) == {"receipt", "request_id"}  # the refund's request id, for the worker's log lines


def test_a_render_from_before_a_refund_never_replaces_one_that_tells_of_it(app, db, paid):
    from portal.receipts.services import store_pdf

    receipt = db.scalar(
        select(Receipt).where(Receipt.payment_id == paid.id, Receipt.kind == ReceiptKind.PAYMENT)
    )
    with app.app_context():
        store_pdf(db, receipt.id, b"%PDF after the refund", refunded_fen=2_000)
        stale, _ = store_pdf(db, receipt.id, b"%PDF from before", refunded_fen=0)

    assert stale == b"%PDF after the refund"


def test_a_refund_from_before_re_rendering_is_told_on_download_too(app, client, db, paid):
    refund(client, paid, "W-2", "20.00")
    db.execute(delete(OutboxMessage).where(OutboxMessage.dedupe_key.like("receipt:%:refunded:%")))
    db.flush()
    logout(client)
    login(client, "13900000001")

    text, _ = _payment_receipt_text(client, db, paid)

    assert "已部分退款" in text and "¥48.20stillstandsaspaid" in text
