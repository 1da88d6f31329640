"""Automatic texts (keyword confirmations, auto-responses) sent through the delivery pipeline.

Auto-responses are rate-limited per number with a Redis key that expires after GUARD_SECONDS,
so two robots answering each other cannot loop.
"""

import logging

from core import settings
from core.extensions import db
from core.jobs import redis
from core.messaging.models import Channel, Direction, Message, MessageEvent, Status
from core.messaging.segments import count
from core.messaging.transitions import lease
from core.types import utcnow

log = logging.getLogger(__name__)

GUARD_SECONDS = 600  # never more than one auto-response per number per 10 minutes
WELCOME = "You're welcome!"
NOT_UNDERSTOOD = ("Sorry, I didn't understand. Reply HELP for help or STOP to stop texts.")
NO_REPLIES = "This number does not accept replies. Please call us instead."


def guard_key(number: str) -> str:
    """The Redis key that marks a recent auto-response to `number`."""
    return f"twoway:auto:{number}"


def claim_guard(number: str) -> bool:
    """Take the per-number auto-response slot; False when one went out in the last 10 minutes."""
    return bool(redis().set(guard_key(number), "1", nx=True, ex=GUARD_SECONDS))


def help_text() -> str:
    """The HELP answer: the business name and how to reach it."""
    phone = settings.get("business_phone")
    contact = f" Call {phone}." if phone else ""
    return f"{settings.business_name()}: appointment texts.{contact} Reply STOP to stop texts."


def stop_text() -> str:
    """The single confirmation of an opt-out."""
    return (f"{settings.business_name()}: you are unsubscribed and will get no more texts. "
            "Reply START to subscribe again.")


def start_text() -> str:
    """The confirmation of a resubscription."""
    return f"{settings.business_name()}: you are subscribed again. Reply STOP to stop texts."


def send_text(to: str, body: str, *, client_id: int | None, appointment_id: int | None = None,
              reason: str = "Automatic reply") -> Message:
    """Queue one automatic SMS to `to` and hand it to the delivery workers; commits.

    A confirmation of STOP is written without client_id, because delivery skips every text
    to an opted-out client; the thread finds it by number.
    """
    from core.messaging.pipeline import enqueue_delivery

    now = utcnow()
    message = Message(
        direction=Direction.OUT, channel=Channel.SMS, to_addr=to, body=body,
        status=Status.QUEUED, client_id=client_id, appointment_id=appointment_id,
        send_at=now, created_at=now, held_until=now + lease(), segments=count(body).segments,
    )
    db.session.add(message)
    db.session.flush()
    db.session.add(MessageEvent(message_id=message.id, status=Status.QUEUED, code="auto",
                                detail=reason[:500]))
    db.session.commit()
    enqueue_delivery([message.id])
    return message


def auto_respond(to: str, body: str, *, client_id: int | None, reason: str) -> Message | None:
    """Send an auto-response unless the number got one in the last 10 minutes."""
    if not claim_guard(to):
        log.info("auto-response to %s suppressed by the loop guard", to)
        return None
    return send_text(to, body, client_id=client_id, reason=reason)


def enabled(key: str) -> bool:
    """Whether the switch `key` (a bool setting) is on."""
    return bool(settings.get(key))
