"""The development notifier: messages go to the log and to an in-app outbox page, never to a person.

In production it delivers nothing and logs only that a message was dropped (never its text: a reset
link in a production log would be a way into the account)."""

from __future__ import annotations

import logging
import threading
from collections import deque

from portal.identity import mask_email, mask_phone
from portal.notify.base import Message

OUTBOX_SIZE = 50  # newest messages kept per process; enough to click through a flow by hand
logger = logging.getLogger("portal.notify")


class DevelopmentNotifier:
    name = "development"

    def __init__(self, production: bool = False) -> None:
        self.production = production
        self._messages: deque[Message] = deque(maxlen=OUTBOX_SIZE)
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        if self.production:
            logger.warning(
                "NOTIFIER=development in production: a %s message to %s was NOT delivered",
                message.channel,
                _masked(message),
            )
            return
        logger.info("development outbox: %s to %s: %s", message.channel, message.recipient, message.body)
        with self._lock:
            self._messages.append(message)

    def messages(self) -> list[Message]:
        """Newest first, as the outbox page lists them."""
        with self._lock:
            return list(reversed(self._messages))


def _masked(message: Message) -> str:
    return mask_phone(message.recipient) if message.channel == "sms" else mask_email(message.recipient)
