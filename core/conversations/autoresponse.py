"""Automatic texts (keyword confirmations, auto-responses) sent through the delivery pipeline.

Auto-responses are rate-limited per number with a Redis key that expires after GUARD_SECONDS,
so two robots answering each other cannot loop.

The inbound drain handles many texts per job: inside `collect_replies` a reply is written in
the caller's commit and handed to delivery with the batch's others, and inside
`switches_read_once` the two-way switches are read once per batch, not once per text.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import insert

from core import settings
from core.extensions import db
from core.jobs import redis
from core.messaging.models import Channel, Direction, Message, Status
from core.messaging.segments import count
from core.messaging.transitions import lease, write_events
from core.types import utcnow

log = logging.getLogger(__name__)

GUARD_SECONDS = 600  # never more than one auto-response per number per 10 minutes
WELCOME = "You're welcome!"
NOT_UNDERSTOOD = ("Sorry, I didn't understand. Reply HELP for help or STOP to stop texts.")
NO_REPLIES = "This number does not accept replies. Please call us instead."
SWITCHES = ("twoway_enabled", "twoway_reply_after_client", "autoreply_thanks",
            "autoreply_unrecognised", "autoreply_no_replies", "business_name", "business_phone")

_collected: ContextVar[list[int] | None] = ContextVar("auto_replies", default=None)
_switches: ContextVar[dict | None] = ContextVar("auto_switches", default=None)


@contextmanager
def collect_replies():
    """Within it, send_text writes without committing and adds its message id to the yielded
    list: the caller commits, then enqueues delivery."""
    ids: list[int] = []
    token = _collected.set(ids)
    try:
        yield ids
    finally:
        _collected.reset(token)


@contextmanager
def switches_read_once():
    """Within it, the two-way switches and the business name come from one settings read."""
    token = _switches.set(settings.snapshot(SWITCHES))
    try:
        yield
    finally:
        _switches.reset(token)


def setting(key: str):
    """A setting, from the batch's snapshot when one is taken."""
    snapshot = _switches.get()
    return snapshot[key] if snapshot is not None and key in snapshot else settings.get(key)


def guard_key(number: str) -> str:
    """The Redis key that marks a recent auto-response to `number`."""
    return f"twoway:auto:{number}"


def claim_guard(number: str) -> bool:
    """Take the per-number auto-response slot; False when one went out in the last 10 minutes."""
    return bool(redis().set(guard_key(number), "1", nx=True, ex=GUARD_SECONDS))


def help_text() -> str:
    """The HELP answer: the business name and how to reach it."""
    phone = setting("business_phone")
    contact = f" Call {phone}." if phone else ""
    return f"{_business()}: appointment texts.{contact} Reply STOP to stop texts."


def stop_text() -> str:
    """The single confirmation of an opt-out."""
    return (f"{_business()}: you are unsubscribed and will get no more texts. "
            "Reply START to subscribe again.")


def start_text() -> str:
    """The confirmation of a resubscription."""
    return f"{_business()}: you are subscribed again. Reply STOP to stop texts."


def join_text() -> str:
    """The confirmation of marketing consent given by JOIN."""
    return (f"{_business()}: you will now also receive offers and news. Reply STOP to stop "
            "all texts.")


def _business() -> str:
    return setting("business_name") or "Tidings"  # as settings.business_name()


def send_text(to: str, body: str, *, client_id: int | None, appointment_id: int | None = None,
              reason: str = "Automatic reply") -> int:
    """Queue one automatic SMS to `to` and hand it to the delivery workers; commits (inside
    collect_replies: the caller commits and enqueues). Returns the message id.

    A confirmation of STOP is written without client_id, because delivery skips every text
    to an opted-out client; the thread finds it by number.
    """
    from core.messaging.pipeline import enqueue_delivery

    now = utcnow()
    message_id = db.session.execute(insert(Message.__table__).returning(Message.__table__.c.id), {
        "direction": Direction.OUT, "channel": Channel.SMS, "to_addr": to, "body": body,
        "status": Status.QUEUED, "client_id": client_id, "appointment_id": appointment_id,
        "send_at": now, "created_at": now, "held_until": now + lease(),
        "segments": count(body).segments,
    }).scalar_one()
    write_events([{"message_id": message_id, "status": Status.QUEUED, "code": "auto",
                   "detail": reason[:500]}], at=now)
    collected = _collected.get()
    if collected is not None:
        collected.append(message_id)
        return message_id
    db.session.commit()
    enqueue_delivery([message_id])
    return message_id


def auto_respond(to: str, body: str, *, client_id: int | None, reason: str) -> int | None:
    """Send an auto-response unless the number got one in the last 10 minutes (its id)."""
    if not claim_guard(to):
        log.info("auto-response to %s suppressed by the loop guard", to)
        return None
    return send_text(to, body, client_id=client_id, reason=reason)


def enabled(key: str) -> bool:
    """Whether the switch `key` (a bool setting) is on."""
    return bool(setting(key))
