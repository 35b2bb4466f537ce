"""A notice going out by SMS and e-mail: when the e-mail provider fails, the retry sends only the
e-mail; the SMS the resident already got is not sent again."""

from sqlalchemy import select

from portal.notify.base import Message, NotifierError
from portal.notify.models import Notification
from portal.notify.services import queue
from tests.factories import UserFactory
from tests.notify.conftest import work


class EmailDownOnce:
    """A provider pair whose e-mail side refuses the first message handed to it."""

    name = "flaky-email"

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.email_failures_left = 1

    def send(self, message: Message) -> None:
        if message.channel == "email" and self.email_failures_left:
            self.email_failures_left -= 1
            raise NotifierError("the e-mail provider is down")
        self.sent.append(message)


def test_a_failed_channel_is_retried_alone(app, db):
    user = UserFactory(phone="13900000991", email="both@example.cn")
    with app.app_context():
        queue(db, user.id, "paid", "paid:PTESTCHANNELS", {"reference": "PTESTCHANNELS", "total_fen": 1_000})
    db.flush()  # the worker's own sessions read what is flushed
    provider = EmailDownOnce()
    app.extensions["portal.notifier"] = provider
    app.config["OUTBOX_BACKOFF_BASE_SECONDS"] = 0  # the retry is due at once

    work(app)
    work(app)

    assert sorted(m.channel for m in provider.sent) == ["email", "sms"]  # each once
    notice = db.scalar(select(Notification).where(Notification.dedupe_key == "paid:PTESTCHANNELS"))
    db.refresh(notice)
    assert notice.sent_at is not None and notice.channels == "email,sms"
