"""Notices to residents: written once with their event, sent once by the worker by the resident's
channels in the resident's language, read in the inbox."""

import json
import re
from datetime import timedelta

import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import utcnow
from portal.notify import services, texts
from portal.notify.models import Notification, NotificationPreference
from portal.payments.models import Payment, PaymentItem
from tests.conftest import login, submit
from tests.factories import FinanceFactory, UserFactory
from tests.notify.conftest import bill, saved_account, sent, work
from tests.payments.conftest import confirm_form, resident, review, water  # noqa: F401
from tests.payments.test_refunds import refund


def notices(db, kind=None):
    db.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    return list(db.scalars(query.where(Notification.kind == kind) if kind else query))


def test_a_payment_is_confirmed_once_in_the_inbox_and_by_sms(app, client, db, water, resident):  # noqa: F811
    html = review(client).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    payment = db.scalar(sa.select(Payment))

    [notice] = notices(db, "paid")  # written in the payment's own transaction
    assert notice.dedupe_key == f"paid:{payment.reference}" and notice.sent_at is None
    assert work(app) >= 1 and work(app) == 0  # the second pass sends nothing again
    texts = [m for m in sent(app) if payment.reference in m.body]
    assert [(m.channel, m.recipient) for m in texts] == [("sms", "13900000001")]
    assert texts[0].body.startswith("You paid ¥68.20")  # English: the language the resident uses
    page = client.get("/notices/").get_data(as_text=True)
    assert "Payment made" in page and "You have 1 unread notice." in page
    assert 'href="/notices/">Notices <span class="card__tag">1' in client.get("/").get_data(as_text=True)
    assert notices(db, "confirmed") == []  # confirmed in time: nothing was promised, nothing more is said


def test_a_refund_is_told_to_the_resident(app, client, db, water, resident):  # noqa: F811
    html = review(client).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    payment = db.scalar(sa.select(Payment))
    client.post("/account/logout", data={"csrf_token": ""})
    finance = app.test_client()
    FinanceFactory(email="finance-notes@example.gov.cn")
    login(finance, "finance-notes@example.gov.cn")

    assert refund(finance, payment, "W-2", "5.00").status_code == 302

    [notice] = notices(db, "refunded")
    assert notice.user_id == resident.id and json.loads(notice.params_json)["amount_fen"] == 500


def test_reminders_once_per_bill_only_inside_the_window(app, db, note_water):
    user = UserFactory(phone="13900000601", locale="zh_CN")
    account = saved_account(app, db, user, note_water)
    bill(note_water, "R-SOON", 2, amount_fen=4_200)
    bill(note_water, "R-LATER", 10)
    bill(note_water, "R-NODATE", None)

    work(app)
    work(app)

    [notice] = notices(db, "due")
    assert notice.dedupe_key == f"due:{account.id}:R-SOON" and notice.sent_at is not None
    [message] = [m for m in sent(app) if m.recipient == "13900000601"]
    assert message.subject == "账单即将到期" and "¥42.00" in message.body  # the stored language: Chinese


def test_no_reminders_for_a_resident_who_switched_them_off(app, db, note_water):
    user = UserFactory(phone="13900000602")
    db.add(NotificationPreference(user_id=user.id, reminders=False, sms=True, email=True, campaigns=False))
    saved_account(app, db, user, note_water)
    bill(note_water, "R-OFF", 1)

    work(app)

    assert notices(db, "due") == []


def test_sms_off_keeps_the_notice_in_the_inbox_only(app, db, note_water):
    user = UserFactory(phone="13900000603")
    db.add(NotificationPreference(user_id=user.id, reminders=True, sms=False, email=True, campaigns=False))
    saved_account(app, db, user, note_water)
    bill(note_water, "R-INBOX", 1)

    work(app)

    [notice] = notices(db, "due")
    assert notice.sent_at is not None and notice.channels == ""
    assert not [m for m in sent(app) if m.recipient == "13900000603"]


def test_a_late_agency_confirmation_is_told_once(app, client, db, water, resident):  # noqa: F811
    html = review(client).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    payment = db.scalar(sa.select(Payment))
    payment.paid_at = utcnow() - timedelta(minutes=61)
    db.flush()  # the scan reads the payment on its own session
    from portal import worker

    with app.app_context():
        database = app.extensions["portal.db"]
        assert worker.scans.confirmation_delays(database, utcnow()) == 2  # one per bill still awaiting
        assert worker.scans.confirmation_delays(database, utcnow()) == 0
    items = db.scalars(sa.select(PaymentItem.id)).all()
    assert {n.dedupe_key for n in notices(db, "delayed")} == {f"delayed:{i}" for i in items}


def test_a_late_confirmation_that_arrives_is_told_as_promised(app, client, db, water, resident):  # noqa: F811
    html = review(client).get_data(as_text=True)
    client.post("/payments/confirm", data=confirm_form(html))
    payment = db.scalar(sa.select(Payment))
    payment.paid_at = utcnow() - timedelta(minutes=61)
    db.flush()
    from portal import worker

    with app.app_context():
        assert worker.scans.confirmation_delays(app.extensions["portal.db"], utcnow()) == 2
    assert notices(db, "confirmed") == []

    work(app)  # the agency confirms both bills now

    items = db.scalars(sa.select(PaymentItem).order_by(PaymentItem.id)).all()
    confirmed = notices(db, "confirmed")
    assert [n.dedupe_key for n in confirmed] == [f"confirmed:{item.id}" for item in items]
    body = texts.render("confirmed", json.loads(confirmed[0].params_json), "en").body
    assert body.endswith(
        f"has now confirmed bill {items[0].bill_id} of payment {payment.reference}. Nothing more to do."
    )
    work(app)
    assert len(notices(db, "confirmed")) == 2  # told once


SPRING_OFFER = {
    "name_zh": "春季立减",
    "name_en": "Spring saver",
    "first_day": "2027-03-01",
    "last_day": "2027-03-31",
    "rule": "percent_off",
    "amount_off_fen": 0,
    "percent_bp": 1250,
    "cap_fen": 500,
    "threshold_fen": 0,
    "uses": 2,
    "agencies_zh": ["城市水务"],
    "agencies_en": ["City Water"],
    "categories": ["gas"],
}


def test_campaign_news_says_what_it_offers_and_covers_in_the_readers_language(app):
    with app.app_context():
        english = texts.render("campaign", {"campaign": "spring-2027", "offer": SPRING_OFFER}, "en").body
        chinese = texts.render("campaign", {"campaign": "spring-2027", "offer": SPRING_OFFER}, "zh_CN").body

    assert english.startswith(
        "Spring saver, 2027-03-01 to 2027-03-31. Pay bills from your wallet and get 12.5% off, at most ¥5.00."
    )
    assert "Covers: City Water, Gas." in english and "use it 2 times;" in english
    assert chinese.startswith("春季立减（2027-03-01 至 2027-03-31）")
    assert "城市水务、燃气费" in chinese and "12.5%" in chinese and "¥5.00" in chinese
    assert "每位居民可享 2 次，" in chinese
    with app.app_context():
        once = texts.render("campaign", {"campaign": "c", "offer": SPRING_OFFER | {"uses": 1}}, "en").body
    assert "Each resident can use it once;" in once


def test_campaign_news_goes_once_and_only_to_residents_who_opted_in(app, db):
    keen, other = UserFactory(phone="13900000604"), UserFactory(phone="13900000605")
    db.add(NotificationPreference(user_id=keen.id, reminders=True, sms=True, email=True, campaigns=True))
    db.flush()  # the preference is what the announcement selects by

    with app.app_context():
        assert services.announce_campaign(db, "spring-2027", SPRING_OFFER) == 1
        assert services.announce_campaign(db, "spring-2027", SPRING_OFFER) == 0

    assert [(n.user_id, n.dedupe_key) for n in notices(db, "campaign")] == [
        (keen.id, f"campaign:spring-2027:{keen.id}")
    ]
    assert other.id not in {n.user_id for n in notices(db)}


def test_preferences_page_defaults_and_saving(app, client, db):
    user = UserFactory(phone="13900000606")
    client.get("/language/en")
    login(client, "13900000606")
    page = client.get("/notices/preferences").get_data(as_text=True)
    boxes = {name: " checked " in tag for tag, name in re.findall(r'(<input [^>]*name="(\w+)"[^>]*>)', page)}
    assert boxes["reminders"] and boxes["sms"] and not boxes["campaigns"]  # campaign news: off by default

    response = submit(client, "/notices/preferences", {"sms": "y", "campaigns": "y"})

    assert response.status_code == 302
    stored = db.get(NotificationPreference, user.id)
    assert (stored.reminders, stored.sms, stored.email, stored.campaigns) == (False, True, False, True)


def test_mark_read_and_nobody_else_can(app, client, db):
    user, stranger = UserFactory(phone="13900000607"), UserFactory(phone="13900000608")
    with app.test_request_context():
        services.queue(db, user.id, "campaign", "campaign:x:1", {"title_zh": "甲", "title_en": "A"})
        services.queue(db, stranger.id, "campaign", "campaign:x:2", {"title_zh": "乙", "title_en": "B"})
    mine, theirs = notices(db)
    client.get("/language/en")
    login(client, "13900000607")

    assert submit(client, f"/notices/{theirs.id}/read", {}, page="/notices/").status_code == 404
    assert submit(client, f"/notices/{mine.id}/read", {}, page="/notices/").status_code == 302
    db.expire_all()
    assert mine.read_at is not None and theirs.read_at is None
    assert "You have 0 unread notices." in client.get("/notices/").get_data(as_text=True)


def test_the_language_a_resident_uses_is_stored_for_their_texts(client, db):
    user = UserFactory(phone="13900000609")
    login(client, "13900000609")
    client.get("/")
    db.expire_all()
    assert db.get(User, user.id).locale == "zh_CN"

    client.get("/language/en")
    client.get("/")

    db.expire_all()
    assert db.get(User, user.id).locale == "en"


def test_a_reset_link_waits_for_the_worker_and_is_stored_sealed(app, client, db):
    UserFactory(phone="13900000610")
    client.get("/language/en")

    submit(client, "/account/forgot-password", {"identifier": "13900000610"})

    [notice] = notices(db, "reset")
    assert notice.in_inbox is False and "reset-password" not in notice.params_json
    assert not [m for m in sent(app) if m.recipient == "13900000610"]  # nothing sent inside the request
    work(app)
    [message] = [m for m in sent(app) if m.recipient == "13900000610"]
    assert "/account/reset-password/" in message.body and message.subject == "Set a new password"
