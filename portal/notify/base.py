"""The notifier interface: how the portal reaches a resident outside the browser (SMS, e-mail, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from portal.db import utcnow

Channel = Literal["sms", "email"]


@dataclass(frozen=True)
class Message:
    """What to say to whom; the notifier decides how it travels."""

    channel: Channel
    recipient: str  # a normalised mobile number or e-mail address
    subject: str
    body: str
    created_at: datetime = field(default_factory=utcnow)


@runtime_checkable
class Notifier(Protocol):
    """Delivers one message. Implementations raise NotifierError when it cannot be handed over."""

    name: str

    def send(self, message: Message) -> None: ...


class NotifierError(RuntimeError):
    """The message could not be handed to the provider."""
