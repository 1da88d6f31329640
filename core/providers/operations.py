"""The Settings page's "send test message": one message, sent now, through the live provider."""

from dataclasses import dataclass
from decimal import Decimal

from core import settings
from core.audit.operations import record
from core.extensions import db
from core.messaging.models import Direction, Message, MessageEvent, Status
from core.providers.base import Outgoing, ProviderError, TransientError, UnknownOutcomeError
from core.providers.registry import get_provider
from core.types import utcnow

PROVIDER_LABELS = {"vonage": "Vonage", "smtp": "the SMTP server",
                   "simulator": "the phone simulator"}


@dataclass(frozen=True)
class TestOutcome:
    """What happened to a test message, in words for the admin."""

    ok: bool
    text: str
    message_id: int
    provider: str


def _content(channel: str) -> tuple[str, str]:
    name = settings.business_name()
    if channel == "voice":
        return "", f"This is a test call from {name}. Your voice settings work. Goodbye."
    if channel == "email":
        return f"Test email from {name}", (
            f"This is a test email from {name}, sent by Tidings.\n\nYour email settings work.")
    return "", f"Test message from {name} via Tidings: your text settings work."


def send_test_message(channel: str, to: str, *, actor=None) -> TestOutcome:
    """Send one test message synchronously; the Outbox keeps it like any other message."""
    provider = get_provider(channel)
    subject, body = _content(channel)
    message = Message(direction=Direction.OUT, channel=channel, to_addr=to, subject=subject,
                      body=body, status=Status.SENDING, provider=provider.name, attempts=1)
    db.session.add(message)
    db.session.commit()  # no transaction stays open while the provider is called
    outgoing = Outgoing(message_id=message.id, channel=channel, to=to, body=body,
                        subject=subject)
    label = PROVIDER_LABELS.get(provider.name, provider.name)
    try:
        result = provider.send(outgoing)
    except ProviderError as exc:
        return _failed(message, exc, label, actor)
    message.status = Status.SENT
    message.provider_id = result.provider_id
    message.segments = result.segments
    message.cost = result.cost
    message.sent_at = utcnow()
    db.session.add(MessageEvent(message_id=message.id, status=Status.SENT, code=result.code,
                                detail=f"Test message accepted by {label}"))
    record("message.test_sent", f"Test {channel} to {to} sent through {label}", actor=actor,
           message_id=message.id)
    db.session.commit()
    return TestOutcome(True, _accepted_text(label, result), message.id, label)


def _accepted_text(label: str, result) -> str:
    text = f"Sent through {label}. Provider id {result.provider_id}"
    if result.segments > 1:
        text += f", {result.segments} segments"
    if result.cost:
        text += f", cost {Decimal(result.cost).normalize()}"
    return text + "."


def _failed(message: Message, exc: ProviderError, label: str, actor) -> TestOutcome:
    """Record the failure on the message and word it plainly."""
    if isinstance(exc, UnknownOutcomeError):
        status, lead = Status.RECONCILE, "It is unknown whether it went out"
    elif isinstance(exc, TransientError):
        status, lead = Status.FAILED, "Temporarily refused (not retried for a test)"
    else:
        status, lead = Status.FAILED, "Refused"
    message.status = status
    message.reason = exc.reason[:300]
    db.session.add(MessageEvent(message_id=message.id, status=status, code=exc.code[:40],
                                detail=exc.reason[:500]))
    record("message.test_failed", f"Test {message.channel} to {message.to_addr} failed: "
           f"{exc.reason}", actor=actor, message_id=message.id)
    db.session.commit()
    code = f" (code {exc.code})" if exc.code else ""
    return TestOutcome(False, f"{lead} by {label}: {exc.reason}{code}", message.id, label)
