"""Inbound messages: stored once per provider id, matched to a client, handled by a drain job.

Every provider's inbound webhook (the simulator's, Vonage's) ends in `accept_inbound`, so a
reply typed on the Simulator page travels exactly the path of a real one. The webhook only
stores the message with its `inbound_queue` row in one commit and raises a Redis flag; the
first message that raises it enqueues one drain job (core.messaging.inbound_drain) for all
that follow, so N webhooks make a handful of jobs, not N. The database is the truth: the
sweeper re-triggers a drain for queued rows that wait too long (a lost flag or job).
"""

import logging
import re
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from core import phones
from core.audit import operations as audit
from core.bulk import is_postgresql
from core.clients.models import Client, ContactMethod
from core.conversations import unread
from core.conversations.models import PendingInbound
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
DRAIN = "core.messaging.inbound_drain.drain_inbound"
DRAIN_TIMEOUT = 300  # a drain stops taking batches after DRAIN_FOR (inbound_drain), far below
DRAIN_FLAG = "tidings:inbound:drain-queued"
# While the flag lives no webhook enqueues; if its job was lost, the flag expires after this and
# the sweeper (every 30 s) re-triggers anyway.
FLAG_TTL = 60
QUEUE_ROWS = PendingInbound.__table__


def accept_inbound(*, provider: str, provider_id: str, from_addr: str, to_addr: str, body: str,
                   channel: str = Channel.SMS, subject: str = "",
                   received_at: datetime | None = None, raw: dict | None = None
                   ) -> tuple[Message, bool]:
    """Store one inbound message (once per provider id) and its queue row, commit, trigger
    the drain job.

    Commits the session (a replay rolls it back), so call it with no other pending changes.
    Returns (message, created); a replayed webhook returns the stored message, created=False.
    """
    message = _store(provider, provider_id, from_addr, to_addr, body, channel, subject,
                     received_at, raw)
    if message is None:  # a replay, or a concurrent delivery of the same webhook, stored it
        db.session.rollback()  # and takes with it the unknown sender this request made
        message = _existing(provider, provider_id)
        waiting = _is_queued(message.id)
        db.session.commit()
        if waiting:
            trigger_drain()
        return message, False
    trigger_drain(bump_unread=True)
    return message, True


def is_processed(message_id: int) -> bool:
    """True once the drain has handled the message."""
    query = select(MessageEvent.id).where(
        MessageEvent.message_id == message_id, MessageEvent.code == PROCESSED
    )
    return db.session.scalar(query.limit(1)) is not None


def trigger_drain(*, bump_unread: bool = False, force: bool = False) -> bool:
    """Enqueue a drain job unless one is already waiting (`force`: regardless); True when
    this call enqueued it. A Redis failure is logged, not raised: the row is stored and the
    sweeper triggers the drain."""
    try:
        with redis().pipeline() as pipe:
            if bump_unread:
                unread.bump(pipe)  # the nav badges recount at their next poll
            pipe.set(DRAIN_FLAG, "1", nx=True, ex=FLAG_TTL)
            raised = pipe.execute()[-1]
            if not (raised or force):
                return False
            queue("high").enqueue(DRAIN, job_timeout=DRAIN_TIMEOUT, result_ttl=60)
    except RedisError:
        log.warning("could not trigger the inbound drain; the sweeper will", exc_info=True)
        return False
    return True


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


def _existing(provider: str, provider_id: str) -> Message:
    query = select(Message).where(Message.provider == provider, Message.provider_id == provider_id)
    return db.session.scalars(query).one()


def _is_queued(message_id: int) -> bool:
    query = select(QUEUE_ROWS.c.message_id).where(QUEUE_ROWS.c.message_id == message_id)
    return db.session.scalar(query) is not None


def _store(provider, provider_id, from_addr, to_addr, body, channel, subject, received_at,
           raw) -> Message | None:
    """Insert the message, its queue row and its audit event, and commit; None (nothing
    committed) when the provider id is stored already."""
    channel = Channel.EMAIL if channel == Channel.EMAIL or "@" in from_addr else Channel(channel)
    sender = normalize_sender(from_addr, channel)
    at = _arrival(received_at)
    client_id = _client_for(sender, channel)
    message = _insert_new(
        direction=Direction.IN, channel=channel, status=Status.RECEIVED,
        from_addr=sender[:254], to_addr=normalize_sender(to_addr)[:254], subject=subject[:200],
        body=body, provider=provider, provider_id=provider_id, client_id=client_id,
        appointment_id=_linked_appointment(client_id, at), created_at=at,
        segments=count(body).segments if channel == Channel.SMS else 1,
    )
    if message is None:
        log.info("inbound %s/%s is stored already", provider, provider_id)
        return None
    db.session.execute(insert(QUEUE_ROWS).values(message_id=message.id, queued_at=at,
                                                 attempts=0))
    _audit(message, raw)
    db.session.commit()
    return message


def _insert_new(**values) -> Message | None:
    """INSERT … ON CONFLICT DO NOTHING on the provider id: a twin (a replay, a concurrent
    delivery) waits for the first to commit and then inserts nothing, with no savepoint."""
    dialect = postgresql if is_postgresql() else sqlite
    statement = (dialect.insert(Message).values(**values)
                 .on_conflict_do_nothing(index_elements=["provider", "provider_id"])
                 .returning(Message))
    return db.session.scalar(statement)


def _arrival(received_at: datetime | None) -> datetime:
    """When the text arrived: the provider's time, which has whole seconds only, unless that is
    this very second (or later), where our clock is finer and keeps it after the text it answers."""
    now = utcnow()
    if received_at is None or now - received_at < timedelta(seconds=1):
        return now
    return received_at


def _client_for(address: str, channel: str) -> int:
    """The id of the client who owns the address; an unknown sender becomes a new, flagged
    client (flushed, so a replay's rollback removes it again)."""
    if channel == Channel.EMAIL:
        where = func.lower(Client.email) == address
    else:
        where = Client.mobile == address
    query = select(Client.id).where(where).order_by(Client.unknown_sender, Client.id)
    candidates = list(db.session.scalars(query))
    if not candidates:
        return _unknown_client(address, channel).id
    if len(candidates) == 1:
        return candidates[0]
    return _most_recently_contacted(candidates)


def _most_recently_contacted(candidates: list[int]) -> int:
    """Of several clients sharing a number, the one we wrote to last is the one answering."""
    last = func.max(Message.id)
    query = (
        select(Message.client_id)
        .where(Message.client_id.in_(candidates), Message.direction == Direction.OUT)
        .group_by(Message.client_id)
        .order_by(last.desc())
        .limit(1)
    )
    return db.session.scalar(query) or candidates[0]


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


def _audit(message: Message, raw: dict | None) -> None:
    email = message.channel == Channel.EMAIL
    kind = "Email" if email else "Text"
    who = message.from_addr if email else phones.pretty(message.from_addr)
    text = message.subject or message.body
    audit.record(
        "message.received", f"{kind} from {who}: {text[:200]}",
        client_id=message.client_id, appointment_id=message.appointment_id,
        message_id=message.id,
        data={"provider": message.provider, "provider_id": message.provider_id,
              "raw": {k: v for k, v in (raw or {}).items() if k != "sig"}},
    )
