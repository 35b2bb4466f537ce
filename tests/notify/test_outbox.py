"""The development notifier and its outbox page; neither may leak anything in production."""

import logging

import pytest

from config import ConfigError
from portal import create_app
from portal.notify.base import Message, Notifier
from portal.notify.development import DevelopmentNotifier
from tests.conftest import make_config


def test_the_outbox_page_shows_messages_and_says_it_is_for_development(app, client):
    client.get("/language/en")
    with app.app_context():
        app.extensions["portal.notifier"].send(
            Message("sms", "13700000301", "Hello", "Open https://x.test/a")
        )

    page = client.get("/dev/outbox").get_data(as_text=True)

    assert "For development only: nothing on this page was sent to anyone." in page
    assert "13700000301" in page and 'href="https://x.test/a"' in page


def test_the_outbox_page_does_not_exist_in_production(app, client):
    app.config["ENV_NAME"] = "production"

    assert client.get("/dev/outbox").status_code == 404


def test_in_production_the_development_notifier_neither_keeps_nor_logs_the_text(caplog):
    sender = DevelopmentNotifier(production=True)
    caplog.set_level(logging.INFO, logger="portal.notify")

    sender.send(Message("sms", "13700000302", "Reset", "secret-link-text"))

    assert sender.messages() == [] and "secret-link-text" not in caplog.text
    assert "NOT delivered" in caplog.text and "137****0302" in caplog.text


def test_development_notifier_logs_and_keeps_the_message(caplog):
    sender = DevelopmentNotifier()
    caplog.set_level(logging.INFO, logger="portal.notify")

    sender.send(Message("email", "a@example.cn", "Reset", "the text"))

    assert isinstance(sender, Notifier)
    assert [m.body for m in sender.messages()] == ["the text"] and "the text" in caplog.text


def test_an_unknown_notifier_stops_start_up(database_url):
    with pytest.raises(ConfigError, match="NOTIFIER"):
        create_app(make_config(database_url, NOTIFIER="carrier-pigeon"))
