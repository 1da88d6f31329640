"""Inbound messages: stored once per provider id, matched to a client, processed by a job.

Every provider's inbound webhook (the simulator's, Vonage's) ends in `accept_inbound`, so a
reply typed on the Simulator page travels exactly the path of a real one.
"""

import logging
import re
from datetime import datetime, timedelta

from rq.job import Job
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import phones
from core.audit import operations as audit
from core.clients.models import Client, ContactMethod
from core.extensions import db
from core.jobs import queue, redis
from core.messaging.models import Channel, Direction, Message, MessageEvent, Status
from core.messaging.segments import count
from core.types import utcnow

log = logging.getLogger(__name__)

LINK_WINDOW = timedelta(days=30)  # a reply this long after our last message still belongs to it
PROCESSED = "processed"  # MessageEvent.code that marks an inbound message as handled
REACHED = (Status.SENT, Status.DELIVERED, Status.RECONCILE)  # outbound that may be answered
E164ISH = re.compile(r"\+?\d{6,15}")


def accept_inbound(*, provider: str, provider_id: str, from_addr: str, to_addr: str, body: str,
                   channel: str = Channel.SMS, subject: str = "",
                   received_at: datetime | None = None, raw: dict | None = None
                   ) -> tuple[Message, bool]:
    """Store one inbound message (once per provider id), commit, queue its processing job.

    Commits the session, so call it with no other pending changes. Returns (message, created);
    a replayed webhook returns the stored message and created=False.
    """
    message = _existing(provider, provider_id)
    created = False
    if message is None:
        message = _store(provider, provider_id, from_addr, to_addr, body, channel, subject,
                         received_at, raw)
        created = message is not None
    if message is None:  # a concurrent delivery of the same webhook stored it first
        message = db.session.scalars(
            select(Message).where(Message.provider == provider, Message.provider_id == provider_id)
        ).one()
    if created or not is_processed(message.id):
        _queue_processing(message.id, replay=not created)
    if created:
        from core.conversations import unread  # late: conversations imports messaging

        unread.bump()  # the nav badges recount at their next poll
    return message, created


def process_inbound(message_id: int) -> None:
    """Job: handle one inbound message once (keywords and auto-responses), then mark it."""
    message = db.session.get(Message, message_id)
    if message is None or message.direction != Direction.IN:
        log.warning("inbound message %s not found", message_id)
        return
    if is_processed(message_id):
        return
    # Late import: the conversations package imports this module's neighbours.
    from core.conversations.operations import handle_inbound

    detail = handle_inbound(message)  # keywords, YES/NO, auto-responses (commits)
    db.session.add(MessageEvent(message_id=message_id, status=Status.RECEIVED, code=PROCESSED,
                                detail=detail[:500]))
    db.session.commit()
    log.info("inbound message %d from %s processed", message_id, message.from_addr)


def is_processed(message_id: int) -> bool:
    """True once process_inbound has handled the message."""
    query = select(MessageEvent.id).where(
        MessageEvent.message_id == message_id, MessageEvent.code == PROCESSED
    )
    return db.session.scalar(query.limit(1)) is not None


def normalize_sender(address: str, channel: str = Channel.SMS) -> str:
    """An email in lower case, a number in E.164 (Vonage sends digits without the '+')."""
    text = (address or "").strip()
    if channel == Channel.EMAIL or "@" in text:
        return text.lower()
    digits = "+" + text.lstrip("+")
    try:
        return phones.to_e164(digits)
    except phones.PhoneError:
        # A short code or a number our metadata does not know still deserves its message.
        return digits if E164ISH.fullmatch(digits) else text


def _existing(provider: str, provider_id: str) -> Message | None:
    query = select(Message).where(Message.provider == provider, Message.provider_id == provider_id)
    return db.session.scalar(query)


def _store(provider, provider_id, from_addr, to_addr, body, channel, subject, received_at,
           raw) -> Message | None:
    """Insert the message (and an unknown sender's client); None when a twin won the race."""
    channel = Channel.EMAIL if channel == Channel.EMAIL or "@" in from_addr else Channel(channel)
    sender = normalize_sender(from_addr, channel)
    at = _arrival(received_at)
    try:
        # The savepoint keeps the unknown client and the message together if a twin wins.
        with db.session.begin_nested():
            client = _client_for(sender, channel)
            message = Message(
                direction=Direction.IN, channel=channel, status=Status.RECEIVED,
                from_addr=sender[:254], to_addr=normalize_sender(to_addr)[:254],
                subject=subject[:200], body=body, provider=provider, provider_id=provider_id,
                client_id=client.id,
                appointment_id=_linked_appointment(client.id, at), created_at=at,
                segments=count(body).segments if channel == Channel.SMS else 1,
            )
            db.session.add(message)
    except IntegrityError:
        log.info("inbound %s/%s stored by a concurrent request", provider, provider_id)
        return None
    _audit(message, client, raw)
    db.session.commit()
    return message


def _arrival(received_at: datetime | None) -> datetime:
    """When the text arrived: the provider's time, which has whole seconds only, unless that is
    this very second (or later), where our clock is finer and keeps it after the text it answers."""
    now = utcnow()
    if received_at is None or now - received_at < timedelta(seconds=1):
        return now
    return received_at


def _client_for(address: str, channel: str) -> Client:
    """The client who owns the address; an unknown sender becomes a new, flagged client."""
    if channel == Channel.EMAIL:
        where = func.lower(Client.email) == address
    else:
        where = Client.mobile == address
    query = select(Client).where(where).order_by(Client.unknown_sender, Client.id)
    candidates = list(db.session.scalars(query))
    if not candidates:
        return _unknown_client(address, channel)
    if len(candidates) == 1:
        return candidates[0]
    return _most_recently_contacted(candidates)


def _most_recently_contacted(candidates: list[Client]) -> Client:
    """Of several clients sharing a number, the one we wrote to last is the one answering."""
    last = func.max(Message.id)
    query = (
        select(Message.client_id)
        .where(Message.client_id.in_([c.id for c in candidates]),
               Message.direction == Direction.OUT)
        .group_by(Message.client_id)
        .order_by(last.desc())
        .limit(1)
    )
    winner = db.session.scalar(query)
    return next((c for c in candidates if c.id == winner), candidates[0])


def _unknown_client(address: str, channel: str) -> Client:
    email = channel == Channel.EMAIL
    client = Client(
        first_name="Unknown", last_name=address[:80], unknown_sender=True,
        mobile=None if email else address[:20], email=address if email else None,
        contact_method=ContactMethod.EMAIL if email else ContactMethod.TEXT,
        timezone=None if email else phones.timezone_of(address),
    )
    db.session.add(client)
    db.session.flush()
    return client


def _linked_appointment(client_id: int, at: datetime) -> int | None:
    """The appointment of our latest outbound message to the client, if it went out recently."""
    sent = func.coalesce(Message.sent_at, Message.created_at)
    query = (
        select(Message.appointment_id)
        .where(Message.client_id == client_id, Message.direction == Direction.OUT,
               Message.status.in_(REACHED), sent >= at - LINK_WINDOW)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def _audit(message: Message, client: Client, raw: dict | None) -> None:
    email = message.channel == Channel.EMAIL
    kind = "Email" if email else "Text"
    who = message.from_addr if email else phones.pretty(message.from_addr)
    text = message.subject or message.body
    audit.record(
        "message.received", f"{kind} from {who}: {text[:200]}",
        client_id=client.id, appointment_id=message.appointment_id, message_id=message.id,
        data={"provider": message.provider, "provider_id": message.provider_id,
              "raw": {k: v for k, v in (raw or {}).items() if k != "sig"}},
    )


def _queue_processing(message_id: int, *, replay: bool) -> None:
    """Queue process_inbound; a replay re-queues only when no job for it is known to Redis."""
    job_id = f"inbound-{message_id}"
    if replay and Job.exists(job_id, connection=redis()):
        return
    queue("high").enqueue("core.messaging.inbound.process_inbound", message_id, job_id=job_id)
