"""Reading conversations: the thread list with filters, one thread, unread counts."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select

from core.appointments.models import Appointment
from core.auth.models import Role, User
from core.clients.models import Client
from core.conversations.models import AppointmentAnswer, Conversation
from core.conversations.operations import OUTCOME, TEXTS
from core.extensions import db
from core.messaging.models import Direction, Message, MessageEvent

RESPONSES = {
    "": "All",
    "responded": "Responded",
    "not_responded": "Not responded",
    "unrecognised": "Unrecognised",
    "opted_out": "Opted out",
}
STATES = {"open": "Open", "flagged": "Flagged", "closed": "Closed", "all": "All"}


@dataclass(frozen=True)
class Filters:
    """What the staff asked to see in the list."""

    q: str = ""
    response: str = ""
    state: str = "open"
    mine_id: int | None = None
    since: datetime | None = None  # a text (either way) at or after this UTC time
    until: datetime | None = None  # ... and before this one


@dataclass(frozen=True)
class Thread:
    """One row of the list: a client, their latest texts both ways, and the staff state."""

    client: Client
    unread: int
    last_at: datetime
    last_out: Message | None
    last_in: Message | None
    assigned: str
    closed: bool
    flag: str = ""  # why the thread is flagged for staff ("" when it is not)


def _stats():
    """Per client with texts: latest id, latest inbound and broadcast ids, unread count."""
    inbound = Message.direction == Direction.IN
    return (
        select(
            Message.client_id,
            func.max(Message.id).label("last_id"),
            func.max(case((inbound, Message.id))).label("in_id"),
            # Our texts are broadcasts (compose, replies); auto-responses do not count.
            func.max(case((Message.broadcast_id.is_not(None), Message.id))).label("out_id"),
            func.sum(case((and_(inbound, Message.read_at.is_(None)), 1), else_=0)).label("unread"),
        )
        .where(Message.client_id.is_not(None), Message.channel.in_(TEXTS))
        .group_by(Message.client_id)
        .subquery()
    )


def threads(filters: Filters, limit: int = 100) -> list[Thread]:
    """The conversations matching `filters`, newest activity first."""
    stats = _stats()
    query = (
        select(Client, stats.c.unread, stats.c.last_id, stats.c.in_id, stats.c.out_id,
               Conversation, User.name)
        .join(stats, stats.c.client_id == Client.id)
        .outerjoin(Conversation, Conversation.client_id == Client.id)
        .outerjoin(User, User.id == Conversation.assigned_to_id)
        .where(*_conditions(filters, stats))
        .order_by(stats.c.last_id.desc())
        .limit(limit)
    )
    rows = db.session.execute(query).all()
    ids = [i for r in rows for i in (r.last_id, r.in_id, r.out_id) if i]
    messages = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids)))}
    result = []
    for client, unread, last_id, in_id, out_id, conversation, assignee in rows:
        last_in, last_out = messages.get(in_id), messages.get(out_id)
        result.append(Thread(client, int(unread or 0), messages[last_id].created_at, last_out,
                             last_in,
                             assignee or "", bool(conversation and conversation.closed_at),
                             _flag(conversation)))
    return result


def _flag(conversation: Conversation | None) -> str:
    if conversation is None or conversation.flagged_at is None:
        return ""
    return conversation.flag_reason or "Flagged"


def _conditions(filters: Filters, stats) -> list:
    # A thread opens when the client writes, or when staff write to them from Conversations
    # (which makes its row): a mass notice alone opens none, and shows in the thread once the
    # client answers it.
    where = [or_(stats.c.in_id.is_not(None), Conversation.client_id.is_not(None))]
    closed = Conversation.closed_at.is_not(None)
    if filters.state == "open":
        where.append(~closed | Conversation.client_id.is_(None))
    elif filters.state == "flagged":
        where.append(Conversation.flagged_at.is_not(None))
    elif filters.state == "closed":
        where.append(closed)
    if filters.mine_id:
        where.append(Conversation.assigned_to_id == filters.mine_id)
    if filters.response == "responded":
        where.append(stats.c.in_id > func.coalesce(stats.c.out_id, 0))
    elif filters.response == "not_responded":
        where.append(or_(stats.c.in_id.is_(None), stats.c.in_id < stats.c.out_id))
    elif filters.response == "unrecognised":
        where.append(exists().where(MessageEvent.message_id == stats.c.in_id,
                                    MessageEvent.code == f"{OUTCOME}:other"))
    elif filters.response == "opted_out":
        where.append(Client.opted_out.is_(True))
    if filters.q:
        where.append(_search(filters.q))
    if filters.since or filters.until:
        where.append(_texted_between(filters.since, filters.until))
    return where


def _texted_between(since: datetime | None, until: datetime | None):
    """The client has a text, either way, in [since, until)."""
    inside = [Message.client_id == Client.id, Message.channel.in_(TEXTS)]
    if since:
        inside.append(Message.created_at >= since)
    if until:
        inside.append(Message.created_at < until)
    return exists().where(*inside)


def _search(q: str):
    """Client name, company, mobile (digits) or an appointment's job number."""
    like = f"%{q.lower()}%"
    name = func.lower(Client.first_name + " " + Client.last_name)
    digits = "".join(ch for ch in q if ch.isdigit())
    terms = [name.like(like), func.lower(Client.company).like(like),
             exists().where(Appointment.client_id == Client.id,
                            func.lower(Appointment.job_number).like(like))]
    if len(digits) >= 3:
        terms.append(Client.mobile.like(f"%{digits}%"))
    return or_(*terms)


def thread_messages(client: Client, limit: int = 200) -> list[Message]:
    """The client's texts both ways (and confirmations sent to their number), oldest first."""
    mine = Message.client_id == client.id
    if client.mobile:
        mine = or_(mine, and_(Message.client_id.is_(None), Message.direction == Direction.OUT,
                              Message.to_addr == client.mobile))
    query = (select(Message).where(mine, Message.channel.in_(TEXTS))
             .order_by(Message.id.desc()).limit(limit))
    return list(reversed(db.session.scalars(query).all()))


def unread_total() -> int:
    """How many inbound texts from clients nobody has read yet."""
    query = select(func.count(Message.id)).where(
        Message.direction == Direction.IN, Message.read_at.is_(None),
        Message.client_id.is_not(None), Message.channel.in_(TEXTS))
    return db.session.scalar(query) or 0


def latest_id() -> int:
    """The newest text id (the list's polling compares it to skip unchanged refreshes)."""
    query = select(func.max(Message.id)).where(Message.channel.in_(TEXTS))
    return db.session.scalar(query) or 0


def staff() -> list[User]:
    """Active staff who can be given a conversation: those who may reply (Edit or Admin)."""
    query = (select(User).where(User.active.is_(True), User.role_value >= int(Role.EDIT))
             .order_by(User.name))
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class TextAnswer:
    """What a client's YES or NO did to an appointment."""

    action: str  # "Confirmed", "Declined" or "Cancelled"
    appointment: Appointment


def answers_to(message_ids) -> dict[int, TextAnswer]:
    """For each inbound text id that answered an appointment, what it did to which, in one
    query (the Inbox rows and the message page)."""
    ids = [i for i in message_ids if i]
    if not ids:
        return {}
    rows = db.session.execute(
        select(AppointmentAnswer.message_id, AppointmentAnswer.answer, Appointment)
        .join(Appointment, Appointment.id == AppointmentAnswer.appointment_id)
        .where(AppointmentAnswer.message_id.in_(ids)))
    return {message_id: TextAnswer(_action(answer, appointment), appointment)
            for message_id, answer, appointment in rows}


def _action(answer: str, appointment: Appointment) -> str:
    if answer == "yes":
        return "Confirmed"
    return "Cancelled" if appointment.status == "cancelled" else "Declined"
