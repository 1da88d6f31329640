"""Read-only queries behind the Outbox, Inbox and message detail pages.

Lists are keyset-paged on the message id (never OFFSET, never a count over the whole table) and
load each message with its client in the same statement, so a page costs a fixed number of
queries whatever its length.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, exists, func, or_, select, union
from sqlalchemy.orm import aliased

from core import bulk
from core.appointments.models import Appointment
from core.clients.models import Client
from core.clients.operations import phone_digits, search_condition
from core.extensions import db
from core.messaging.models import Broadcast, Direction, Message, MessageEvent, Status
from core.types import utcnow

try:  # attachments belong to compose; the detail page works without them
    from core.messaging.attachments import for_broadcast as _attachments_of
    from core.messaging.attachments import for_message as _received_files
except ImportError:  # pragma: no cover
    _attachments_of = _received_files = None

# Aliases of the messages table, made once: aliased() builds a proxy of every column, which
# cost a list page more than its queries did when made per call.
ANSWERED = aliased(Message, name="answered")
EARLIER_OUT = aliased(Message, name="earlier_out")
RESPONSE = aliased(Message, name="response")
REPLY = aliased(Message, name="reply")
INBOUND = aliased(Message, name="inbound")

# "sent" is settled for sending, but a delivery receipt may still arrive within the validity
# period (Vonage: up to 72 h), so the status column keeps watching it that long.
WATCHED = {Status.QUEUED, Status.SENDING, Status.RECONCILE}
RECEIPT_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class Filters:
    """What a list shows; `since`/`until` are UTC bounds, `folder` is "other", "appointments",
    "b<broadcast id>" or an appointment id."""

    q: str = ""
    status: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    folder: str | int | None = None
    response: str | None = None  # Message Center: one of RESPONSES


@dataclass
class MessageRow:
    """One list line: the message, its client, and what it answers (inbox)."""

    message: Message
    client: Client | None
    answers: Message | None = None
    reply: Message | None = None  # outbox: the client's response to this message


@dataclass
class MessagePage:
    """One page of rows with the cursors of the pages around it (None: no such page)."""

    rows: list[MessageRow]
    newer: int | None = None
    older: int | None = None


@dataclass
class Folder:
    """An Outbox folder: one appointment and how many messages went out for it."""

    appointment: Appointment
    count: int


@dataclass
class FolderPage:
    """One page of Outbox folders with the cursor of the next (older) page."""

    folders: list[Folder]
    older: int | None = None


@dataclass
class MessageDetail:
    """Everything the detail page shows about one message."""

    message: Message
    client: Client | None
    appointment: Appointment | None
    broadcast: Broadcast | None
    events: list[MessageEvent] = field(default_factory=list)
    attachments: list = field(default_factory=list)
    reply: Message | None = None
    answers: Message | None = None


def local_day_bounds(first: date | None, last: date | None, tz: str):
    """UTC bounds [start of `first`, end of `last`) of whole days in the business time zone."""
    zone = ZoneInfo(tz)
    since = datetime.combine(first, time(), zone).astimezone(UTC) if first else None
    until = None
    if last:
        until = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return since, until


def outbox_page(filters: Filters, before_id=None, after_id=None, limit: int = 50) -> MessagePage:
    """One page of outbound messages, newest first, each with the client's response."""
    page = _page(Direction.OUT, filters, before_id, after_id, limit)
    found = replies_to([row.message for row in page.rows])
    for row in page.rows:
        row.reply = found.get(row.message.id)
    return page


def inbox_page(filters: Filters, before_id=None, after_id=None, limit: int = 50) -> MessagePage:
    """One page of received messages, newest first, each with the outbound it answers."""
    return _page(Direction.IN, filters, before_id, after_id, limit)


def _page(direction: str, filters: Filters, before_id, after_id, limit: int) -> MessagePage:
    if after_id is not None:
        found = _fetch(direction, filters, [Message.id > after_id], Message.id.asc(), limit + 1)
        if len(found) <= limit:  # this reaches the newest rows: show the first page whole
            return _page(direction, filters, None, None, limit)
        rows = found[:limit][::-1]
        return MessagePage(rows, newer=rows[0].message.id, older=rows[-1].message.id)
    keyset = [Message.id < before_id] if before_id is not None else []
    found = _fetch(direction, filters, keyset, Message.id.desc(), limit + 1)
    rows = found[:limit]
    newer = (rows[0].message.id if rows else before_id) if before_id is not None else None
    older = rows[-1].message.id if len(found) > limit else None
    return MessagePage(rows, newer=newer, older=older)


def _fetch(direction: str, filters: Filters, keyset: list, order, limit: int) -> list[MessageRow]:
    """The first `limit` rows in `order` that match `filters` and the cursor `keyset`."""
    conditions = [Message.direction == direction, *keyset, *_conditions(direction, filters)]
    if filters.q.strip():
        ids = _search_ids(direction, filters.q.strip(), conditions, order, limit)
        conditions = [Message.id.in_(ids)]
    query = _rows_query(direction).where(*conditions).order_by(order).limit(limit)
    return [MessageRow(*row) for row in db.session.execute(query)]


def _rows_query(direction: str) -> Select:
    """Messages with their client (and, received ones, what they answer)."""
    query = select(Message, Client).outerjoin(Client, Client.id == Message.client_id)
    if direction == Direction.IN:
        query = query.add_columns(ANSWERED).outerjoin(
            ANSWERED, ANSWERED.id == _answered_id(Message)
        )
    return query


def _conditions(direction: str, filters: Filters) -> list:
    """The filters other than the search text, as WHERE clauses."""
    conditions = []
    if filters.status:
        conditions.append(Message.status == filters.status)
    if filters.channel:
        conditions.append(Message.channel == filters.channel)
    if filters.response and direction == Direction.OUT:
        conditions.append(_response_condition(filters.response))
    when = _when(direction)
    if filters.since:
        conditions.append(when >= filters.since)
    if filters.until:
        conditions.append(when < filters.until)
    if filters.folder == "other":
        conditions.append(Message.appointment_id.is_(None))
    elif filters.folder == "appointments":
        conditions.append(Message.appointment_id.is_not(None))
    elif isinstance(filters.folder, str) and filters.folder.startswith("b"):
        conditions.append(Message.broadcast_id == int(filters.folder[1:]))
    elif filters.folder not in (None, "", "all"):
        conditions.append(Message.appointment_id == int(filters.folder))
    return conditions


def _when(direction: str):
    """The time a list shows and filters by: when it went (or is due), or when it arrived."""
    if direction == Direction.IN:
        return Message.created_at
    return func.coalesce(Message.sent_at, Message.send_at, Message.created_at)


def _search_ids(direction: str, q: str, conditions: list, order, limit: int):
    """Ids of the first `limit` messages in `order` that match the search and `conditions`.

    Each way of matching is its own query, served by its own index, with its own LIMIT: joined
    by OR in one query they leave PostgreSQL nothing better than filtering every message.
    """
    firsts = [
        select(Message.id)
        .outerjoin(Client, Client.id == Message.client_id)  # some filters read the client
        .where(match, *conditions)
        .order_by(order)
        .limit(limit)
        .subquery()
        for match in _matches(direction, q)
    ]
    return union(*(select(first.c.id) for first in firsts))


def _matches(direction: str, q: str) -> list:
    """The ways a message matches a search: its client, job number, text or address."""
    clients = select(Client.id).where(or_(search_condition(q), _like(Client.email, q)))
    jobs = select(Appointment.id).where(_like(Appointment.job_number, q))
    broadcasts = select(Broadcast.id).where(or_(_like(Broadcast.body, q),
                                                _like(Broadcast.subject, q)))
    # A broadcast's messages are its text rendered for each client, so they are found by the
    # broadcast's text (a few rows) and by the client: their own text needs no index, which
    # spares every mass send and status update the cost of one. The same goes for the address
    # of a message with a client: it is the client's number or email.
    party = Message.to_addr if direction == Direction.OUT else Message.from_addr
    # (202) 555-0101, 202.555.0101 and +1 202 555 0101 all find +12025550101.
    addresses = [_like(party, q), *(_like(party, digits) for digits in phone_digits(q))]
    return [
        Message.client_id.in_(clients),
        Message.appointment_id.in_(jobs),
        Message.broadcast_id.in_(broadcasts),
        and_(Message.broadcast_id.is_(None),
             or_(_like(Message.body, q), _like(Message.subject, q))),
        and_(Message.client_id.is_(None), or_(*addresses)),
    ]


def _like(column, text: str):
    """Case-insensitive "contains", with % and _ in the search taken literally."""
    return column.icontains(text, autoescape=True)


def _same_party(inbound, outbound):
    """An inbound answers outbounds to its client, or ones typed to its number with no client
    (its sender then gets an "unknown sender" client of its own)."""
    return or_(
        outbound.client_id == inbound.client_id,
        and_(outbound.client_id.is_(None), outbound.to_addr == inbound.from_addr),
    )


def _answered_id(inbound):
    """Correlated subquery: the most recent outbound sent to the sender before `inbound`."""
    out = EARLIER_OUT
    return (
        select(out.id)
        .where(
            out.direction == Direction.OUT,
            _same_party(inbound, out),
            out.sent_at.is_not(None),
            out.sent_at <= inbound.created_at,
        )
        .order_by(out.sent_at.desc(), out.id.desc())
        .limit(1)
        .correlate(inbound)
        .scalar_subquery()
    )


# Message Center filters on the client's response to an outbound message.
RESPONSES = {"responded": "Responded", "not_responded": "Not responded",
             "unrecognised": "Unrecognised", "opted_out": "Opted out"}
UNRECOGNISED = "twoway:other"  # the MessageEvent code two-way texting gives a text it did not get


def _response_condition(response: str):
    """Outbound messages (of the outer query) by what the client answered to them."""
    if response == "responded":
        return _has_reply()
    if response == "not_responded":
        return and_(Message.sent_at.is_not(None), ~_has_reply())
    if response == "unrecognised":
        return _has_reply(lambda reply: exists().where(MessageEvent.message_id == reply.id,
                                                       MessageEvent.code == UNRECOGNISED))
    if response == "opted_out":
        return or_(Client.opted_out.is_(True),
                   and_(Message.status == Status.SKIPPED, Message.reason == "Opted out"))
    raise ValueError(f"unknown response filter {response!r}")


def _has_reply(extra=None):
    """Correlated EXISTS: an inbound text answers this outbound message (the Inbox's rule)."""
    reply = RESPONSE
    conditions = [reply.direction == Direction.IN, _same_party(reply, Message),
                  Message.sent_at.is_not(None), reply.created_at >= Message.sent_at,
                  _answered_id(reply) == Message.id]
    if extra is not None:
        conditions.append(extra(reply))
    return exists().where(*conditions)


def replies_to(messages: list[Message]) -> dict[int, Message]:
    """The first inbound answering each of these outbound messages (one query for a page)."""
    sent = [m for m in messages if m.sent_at is not None and m.direction == Direction.OUT]
    if not sent:
        return {}
    reply = REPLY
    answered = _answered_id(reply).label("answered_id")
    candidates = (
        select(reply.id.label("reply_id"), answered)
        .where(reply.direction == Direction.IN,
               or_(bulk.id_in(reply.client_id, {m.client_id for m in sent if m.client_id}),
                   reply.from_addr.in_({m.to_addr for m in sent if not m.client_id})),
               reply.created_at >= min(m.sent_at for m in sent))
        .subquery()
    )
    query = (
        select(Message, candidates.c.answered_id)
        .join(candidates, candidates.c.reply_id == Message.id)
        .where(bulk.id_in(candidates.c.answered_id, [m.id for m in sent]))
        .order_by(Message.created_at, Message.id)
    )
    found: dict[int, Message] = {}
    for message, answered_id in db.session.execute(query):
        found.setdefault(answered_id, message)
    return found


def appointment_folders(before_id: int | None = None, limit: int = 30, since=None,
                        until=None) -> FolderPage:
    """Appointments that have outbound messages, newest appointment first, with counts;
    `since`/`until` (UTC) keep those starting in that range."""
    outbound = (Message.appointment_id == Appointment.id, Message.direction == Direction.OUT)
    # Counted in the same statement, and only for the page's appointments (the LIMIT applies
    # before the select list is computed).
    count = select(func.count(Message.id)).where(*outbound).scalar_subquery()
    query = select(Appointment, count).where(exists().where(*outbound))
    if since is not None:
        query = query.where(Appointment.start_at >= since)
    if until is not None:
        query = query.where(Appointment.start_at < until)
    if before_id is not None:
        start = db.session.scalar(select(Appointment.start_at).where(Appointment.id == before_id))
        if start is not None:
            query = query.where(
                or_(
                    Appointment.start_at < start,
                    and_(Appointment.start_at == start, Appointment.id < before_id),
                )
            )
    query = query.order_by(Appointment.start_at.desc(), Appointment.id.desc()).limit(limit + 1)
    found = [Folder(appointment, n) for appointment, n in db.session.execute(query)]
    older = found[limit - 1].appointment.id if len(found) > limit else None
    return FolderPage(found[:limit], older)


def folder_appointment(appointment_id: int) -> Appointment | None:
    """The appointment of an Outbox folder, for its heading."""
    return db.session.get(Appointment, appointment_id)


def watched(message: Message, now: datetime | None = None) -> bool:
    """True while the message's status may still change (the page keeps polling it)."""
    if message.status in WATCHED:
        return True
    if message.status != Status.SENT or message.direction != Direction.OUT:
        return False
    sent = message.sent_at or message.created_at
    return sent is None or sent > (now or utcnow()) - RECEIPT_WINDOW


def statuses(ids: list[int]) -> list[Message]:
    """The current state of these messages (for the polled status column)."""
    if not ids:
        return []
    return list(db.session.scalars(select(Message).where(bulk.id_in(Message.id, ids))))


def message_detail(message_id: int) -> MessageDetail | None:
    """One message with its client, appointment, broadcast, events, attachments and reply."""
    row = db.session.execute(
        select(Message, Client, Appointment, Broadcast)
        .outerjoin(Client, Client.id == Message.client_id)
        .outerjoin(Appointment, Appointment.id == Message.appointment_id)
        .outerjoin(Broadcast, Broadcast.id == Message.broadcast_id)
        .where(Message.id == message_id)
    ).first()
    if row is None:
        return None
    message, client, appointment, broadcast = row
    detail = MessageDetail(message, client, appointment, broadcast)
    detail.events = history(message, list(
        db.session.scalars(
            select(MessageEvent)
            .where(MessageEvent.message_id == message_id)
            .order_by(MessageEvent.at, MessageEvent.id)
        )
    ))
    detail.attachments = attachments(broadcast)
    if message.direction == Direction.IN and _received_files is not None:
        detail.attachments = _received_files(message.id)  # an MMS's pictures, copied in
    if message.direction == Direction.OUT:
        detail.reply = reply_to(message)
    else:
        detail.answers = answered_by(message_id)
    return detail


def history(message: Message, events: list[MessageEvent]) -> list[MessageEvent]:
    """A message's status history, oldest first, from its creation on: the fan-out records
    the creation ("Queued", or "Skipped" with the reason) on the row, not as an event."""
    first = events[0] if events else None
    # Older fan-outs and other senders wrote it as an event (a skip at the row's created_at).
    if message.broadcast_id is None or message.direction != Direction.OUT or (
            first is not None and (first.status == Status.QUEUED or (
                first.status == Status.SKIPPED and first.at == message.created_at))):
        return events
    skipped = message.status == Status.SKIPPED and all(e.status != Status.SKIPPED
                                                      for e in events)
    created = MessageEvent(message_id=message.id, at=message.created_at, code="",
                           status=Status.SKIPPED if skipped else Status.QUEUED,
                           detail=message.reason if skipped else "Queued")
    return [created, *events]


def answered_by(inbound_id: int) -> Message | None:
    """The outbound message a received one answers (the same rule as the Inbox column)."""
    inbound, answered = INBOUND, ANSWERED
    return db.session.scalar(
        select(answered)
        .select_from(inbound)
        .join(answered, answered.id == _answered_id(inbound))
        .where(inbound.id == inbound_id)
    )


def reply_to(message: Message) -> Message | None:
    """The first inbound after an outbound message that answers it (and not a later one)."""
    if message.sent_at is None:
        return None
    inbound = REPLY
    if message.client_id is None:
        party = inbound.from_addr == message.to_addr
    else:
        party = inbound.client_id == message.client_id
    query = (
        select(inbound)
        .where(
            inbound.direction == Direction.IN,
            party,
            inbound.created_at >= message.sent_at,
            _answered_id(inbound) == message.id,
        )
        .order_by(inbound.created_at, inbound.id)
        .limit(1)
    )
    return db.session.scalar(query)


def attachments(broadcast: Broadcast | None) -> list:
    """The files sent with a broadcast (none when compose's attachment table is absent)."""
    if broadcast is None or _attachments_of is None:
        return []
    return _attachments_of(broadcast.id)
