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
from decimal import Decimal
from functools import lru_cache

from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from core import phones, settings
from core.audit.models import AuditEvent
from core.clients.models import Client, ContactMethod
from core.extensions import db
from core.jobs import queue, redis
from core.messaging import signals
from core.messaging.models import (
    Category,
    Channel,
    Direction,
    Message,
    MessageEvent,
    PendingInbound,
    Status,
)
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
MESSAGE_ROWS = Message.__table__
AUDIT_ROWS = AuditEvent.__table__
RECEIVED = "message.received"  # the audit action of a stored inbound message


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
        with redis().pipeline(transaction=False) as pipe:  # one round trip, no MULTI
            if bump_unread:
                signals.inbound_stored.send(pipe)  # e.g. the nav badges recount
            pipe.set(DRAIN_FLAG, "1", nx=True, ex=FLAG_TTL)
            raised = pipe.execute()[-1]
            if not (raised or force):
                return False
            queue("high").enqueue(DRAIN, job_timeout=DRAIN_TIMEOUT, result_ttl=60)
    except RedisError:
        log.warning("could not trigger the inbound drain; the sweeper will", exc_info=True)
        return False
    return True


@lru_cache(maxsize=4096)  # the business number on every webhook, a client's on each reply
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
    committed) when the provider id is stored already.

    Core statements built once, on the session's connection: the webhook's cost is its few
    round trips, not the ORM's unit of work (profiled: about half the CPU per request).
    """
    channel = Channel.EMAIL if channel == Channel.EMAIL or "@" in from_addr else Channel(channel)
    sender = normalize_sender(from_addr, channel)
    at = _arrival(received_at)
    connection = db.session.connection()
    client_id, known = _client_for(connection, sender, channel)
    linked = connection.execute(LINKED_APPOINTMENT, {
        "client_id": client_id, "since": at - LINK_WINDOW}).scalar() if known else None
    values = dict(
        direction=Direction.IN, channel=channel, status=Status.RECEIVED,
        from_addr=sender[:254], to_addr=normalize_sender(to_addr)[:254], subject=subject[:200],
        body=body, provider=provider, provider_id=provider_id, client_id=client_id,
        appointment_id=linked, created_at=at,
        segments=count(body).segments if channel == Channel.SMS else 1, reason="", attempts=0,
    )
    # A client's own text is conversation, whatever it answers (usage counts it as direct).
    values.update(cost=_inbound_cost(channel, values["segments"]), category=Category.DIRECT)
    message_id = _write(connection, values, raw)
    if message_id is None:
        log.info("inbound %s/%s is stored already", provider, provider_id)
        return None
    db.session.commit()
    return _loaded(Message(id=message_id, **values))


def _inbound_cost(channel: str, segments: int) -> Decimal | None:
    """What receiving the text costs: its segments at the inbound price (None when free)."""
    price = settings.inbound_price() if channel == Channel.SMS else Decimal(0)
    return price * segments if price else None


def _write(connection, values: dict, raw: dict | None) -> int | None:
    """Insert the message (unless its provider id is stored: a replay or a concurrent twin
    waits for the first to commit, then inserts nothing), its queue row and its audit event;
    the new id, or None. PostgreSQL takes all three in one statement (one round trip)."""
    audit = _audit_fields(values, raw)
    if connection.dialect.name == "postgresql":
        return connection.execute(ALL_IN_ONE, {**values, **audit}).scalar()
    message_id = connection.execute(INSERT_NEW, values).scalar()
    if message_id is not None:
        connection.execute(insert(QUEUE_ROWS), {"message_id": message_id, "attempts": 0,
                                                "queued_at": values["created_at"]})
        connection.execute(insert(AUDIT_ROWS), {
            "at": audit["audit_at"], "action": RECEIVED, "summary": audit["summary"],
            "client_id": values["client_id"], "appointment_id": values["appointment_id"],
            "message_id": message_id, "data": audit["audit_data"]})
    return message_id


def _loaded(message: Message) -> Message:
    """The stored message as a session object, without reading back what was just written."""
    make_transient_to_detached(message)  # unset columns (defaults) load on first access
    db.session.add(message)
    return message


def _all_in_one():
    """PostgreSQL: WITH m AS (INSERT … ON CONFLICT DO NOTHING RETURNING …), the queue row
    and the audit event inserted from m (so neither exists for a twin), SELECT m.id."""
    new = (postgresql.insert(MESSAGE_ROWS).values({name: bindparam(name) for name in FIELDS})
           .on_conflict_do_nothing(index_elements=["provider", "provider_id"])
           .returning(MESSAGE_ROWS.c.id, MESSAGE_ROWS.c.client_id,
                      MESSAGE_ROWS.c.appointment_id, MESSAGE_ROWS.c.created_at)
           .cte("m"))
    queued = insert(QUEUE_ROWS).from_select(
        ["message_id", "queued_at", "attempts"], select(new.c.id, new.c.created_at, literal(0)))
    audited = insert(AUDIT_ROWS).from_select(
        ["at", "action", "summary", "client_id", "appointment_id", "message_id", "data"],
        select(bindparam("audit_at", type_=AUDIT_ROWS.c.at.type), literal(RECEIVED),
               bindparam("summary", type_=AUDIT_ROWS.c.summary.type), new.c.client_id,
               new.c.appointment_id, new.c.id,
               bindparam("audit_data", type_=AUDIT_ROWS.c.data.type)))
    return select(new.c.id).add_cte(queued.cte("q"), audited.cte("a"))


def _arrival(received_at: datetime | None) -> datetime:
    """When the text arrived: the provider's time, which has whole seconds only, unless that is
    this very second (or later), where our clock is finer and keeps it after the text it answers."""
    now = utcnow()
    if received_at is None or now - received_at < timedelta(seconds=1):
        return now
    return received_at


CLIENT_BY_MOBILE = (select(Client.id).where(Client.mobile == bindparam("address"))
                    .order_by(Client.unknown_sender, Client.id))
CLIENT_BY_EMAIL = (select(Client.id).where(func.lower(Client.email) == bindparam("address"))
                   .order_by(Client.unknown_sender, Client.id))
# The appointment of our latest outbound message to the client, if it went out recently.
LINKED_APPOINTMENT = (
    select(Message.appointment_id)
    .where(Message.client_id == bindparam("client_id"), Message.direction == Direction.OUT,
           Message.status.in_(REACHED),
           func.coalesce(Message.sent_at, Message.created_at) >= bindparam("since"))
    .order_by(Message.id.desc())
    .limit(1)
)


FIELDS = ("direction", "channel", "status", "from_addr", "to_addr", "subject", "body",
          "provider", "provider_id", "client_id", "appointment_id", "created_at", "segments",
          "reason", "attempts", "cost", "category")
INSERT_NEW = (sqlite.insert(MESSAGE_ROWS)
              .on_conflict_do_nothing(index_elements=["provider", "provider_id"])
              .returning(MESSAGE_ROWS.c.id))
ALL_IN_ONE = _all_in_one()


def _client_for(connection, address: str, channel: str) -> tuple[int, bool]:
    """(id, known) of the client who owns the address; an unknown sender becomes a new,
    flagged client (in the webhook's transaction, so a replay's rollback removes it again)."""
    query = CLIENT_BY_EMAIL if channel == Channel.EMAIL else CLIENT_BY_MOBILE
    candidates = connection.execute(query, {"address": address}).scalars().all()
    if not candidates:
        return _unknown_client(connection, address, channel), False
    if len(candidates) == 1:
        return candidates[0], True
    return _most_recently_contacted(candidates), True


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


def _unknown_client(connection, address: str, channel: str) -> int:
    email = channel == Channel.EMAIL
    values = dict(
        first_name="Unknown", last_name=address[:80], unknown_sender=True,
        mobile=None if email else address[:20], email=address if email else None,
        contact_method=ContactMethod.EMAIL if email else ContactMethod.TEXT,
        timezone=None if email else phones.timezone_of(address),
    )
    return connection.execute(insert(Client.__table__).returning(Client.__table__.c.id),
                              values).scalar_one()


def _audit_fields(values: dict, raw: dict | None) -> dict:
    """The "message.received" audit event's own fields (the rest come from the message)."""
    email = values["channel"] == Channel.EMAIL
    kind = "Email" if email else "Text"
    who = values["from_addr"] if email else phones.pretty(values["from_addr"])
    text = values["subject"] or values["body"]
    return {
        "audit_at": utcnow(), "summary": f"{kind} from {who}: {text[:200]}"[:500],
        "audit_data": {"provider": values["provider"], "provider_id": values["provider_id"],
                       "raw": {k: v for k, v in (raw or {}).items() if k != "sig"}},
    }
