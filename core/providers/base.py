"""The provider interface every channel implementation follows.

A provider sends one message and reports what happened. It never touches the database
row of the message: the delivery pipeline does that from the result or the exception.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """What a provider needs to send one message."""

    message_id: int  # our id, passed to the provider as its client reference
    channel: str  # sms, mms, email, voice
    to: str  # E.164 number or email address
    body: str = ""
    subject: str = ""
    sender: str = ""
    media_urls: tuple[str, ...] = ()  # MMS images / email attachments (signed URLs or paths)
    audio_url: str = ""  # voice: an uploaded recording to play instead of text-to-speech


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message."""

    provider_id: str
    segments: int = 1
    cost: Decimal | None = None
    code: str = ""  # the provider's raw status code, kept in the message history
    parts: tuple[str, ...] = field(default_factory=tuple)  # ids of every part (multipart SMS)


class ProviderError(Exception):
    """Base of provider failures; `code` is the provider's raw code, `reason` its words."""

    def __init__(self, reason: str, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientError(ProviderError):
    """Worth retrying later: throttled, 429, 5xx, a timeout before the request was sent."""

    def __init__(self, reason: str, code: str = "", retry_after: float | None = None):
        super().__init__(reason, code)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """Will never succeed as it is: invalid number, rejected content, bad credentials."""


class UnknownOutcomeError(ProviderError):
    """The request may have reached the provider (dropped connection, read timeout):
    the message must be reconciled from a delivery receipt, never re-sent blindly."""


class Provider(Protocol):
    name: str

    def send(self, message: Outgoing) -> SendResult:
        """Send one message or raise one of the errors above."""
        ...
