"""Two-way texting: what an inbound text does (keywords, answers, auto-responses), opt-out and
opt-in, and the staff side of a conversation (read, assign, close, reply).

`handle_inbound` is called by the inbound drain (core.messaging.inbound_drain, a job on "high")
once per inbound message; everything else is called by the conversations blueprint.
"""

import logging

from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.appointments.models import Appointment, AppointmentStatus
from core.audit.operations import record
from core.bulk import is_postgresql
from core.clients.models import Client
from core.conversations import autoresponse as auto
from core.conversations import unread
from core.conversations.keywords import Kind, parse
from core.conversations.models import AppointmentAnswer, Conversation
from core.extensions import db
from core.messaging.models import Channel, Direction, Message, Status
from core.messaging.signals import inbound_received
from core.messaging.transitions import write_events
from core.types import utcnow

log = logging.getLogger(__name__)

TEXTS = (Channel.SMS, Channel.MMS)
OPTED_OUT = "Opted out"
OUTCOME = "twoway"  # MessageEvent.code prefix recording what an inbound text was taken for


class ConversationError(ValueError):
    """A refused staff action, with a message fit to show."""


# ---- inbound -----------------------------------------------------------------------------------


def handle_inbound(message: Message) -> str:
    """Act on one inbound text (keywords, YES/NO, auto-responses); returns what was done.

    The caller commits (with the mark that the message is processed); STOP, START and
    appointment answers commit their own change first."""
    client = db.session.get(Client, message.client_id) if message.client_id else None
    if client is None or message.channel not in TEXTS:
        return "Received; no automatic action"
    _reopen(client.id)
    inbound_received.send(message)  # e.g. the staff chat announces unassigned replies
    parsed = parse(message.body)
    kind = parsed.kind
    if kind == Kind.YES and client.opted_out:
        kind = Kind.START  # YES after STOP resubscribes
    if kind == Kind.STOP:
        done = opt_out(client, message)
    elif kind == Kind.START:
        done = opt_in(client, message)
    elif kind == Kind.HELP:
        auto.claim_guard(message.from_addr)  # HELP is always answered; it counts for the guard
        # An opted-out phone still gets its HELP answer (delivery skips opted-out clients).
        auto.send_text(message.from_addr, auto.help_text(),
                       client_id=None if client.opted_out else client.id, reason="HELP answer")
        done = "HELP answered"
    elif not auto.enabled("twoway_enabled"):
        kind, done = Kind.OTHER, _no_replies(client, message)
    elif kind in (Kind.YES, Kind.NO):
        done = answer_appointment(client, message, kind, parsed.code)
        if done is None:
            kind, done = Kind.OTHER, _unrecognised(client, message)
    elif kind == Kind.THANKS:
        done = _thanks(client, message)
    else:
        done = _unrecognised(client, message)
    write_events([{"message_id": message.id, "status": Status.RECEIVED,
                   "code": f"{OUTCOME}:{kind}", "detail": done[:500]}])
    return done


def _no_replies(client: Client, message: Message) -> str:
    if auto.enabled("autoreply_no_replies"):
        sent = auto.auto_respond(message.from_addr, auto.NO_REPLIES, client_id=client.id,
                                 reason="Two-way texting is off")
        return "Two-way texting is off; told the sender" if sent else "Two-way texting is off"
    return "Two-way texting is off"


def _thanks(client: Client, message: Message) -> str:
    if auto.enabled("autoreply_thanks"):
        if auto.auto_respond(message.from_addr, auto.WELCOME, client_id=client.id,
                             reason="Thank-you auto-response"):
            return "Thanked; answered “You're welcome”"
    return "Thanked"


def _unrecognised(client: Client, message: Message) -> str:
    if auto.enabled("autoreply_unrecognised"):
        if auto.auto_respond(message.from_addr, auto.NOT_UNDERSTOOD, client_id=client.id,
                             reason="Unrecognised text"):
            return "Not recognised; answered “Sorry, I didn't understand”"
    return "Not recognised as a keyword"


# ---- opt-out and opt-in ------------------------------------------------------------------------


def opt_out(client: Client, message: Message | None = None) -> str:
    """Opt the number out at once (every client sharing it), skip every queued text to it,
    confirm once; commits."""
    already = client.opted_out
    skipped = 0
    for person in sharing_number(client):
        if not person.opted_out:
            person.opted_out, person.opted_out_at = True, utcnow()
        cancelled = skip_queued(person)
        skipped += cancelled
        record("client.opted_out", f"{person.name} replied STOP: no more texts "
               f"({cancelled} queued cancelled)", client_id=person.id,
               message_id=getattr(message, "id", None))
    db.session.commit()
    if not already and client.mobile:
        auto.send_text(client.mobile, auto.stop_text(), client_id=None, reason="STOP confirmation")
    return f"Opted out; {skipped} queued message(s) skipped"


def sharing_number(client: Client) -> list[Client]:
    """The client and every other client with the same mobile: STOP is about the phone."""
    if not client.mobile:
        return [client]
    query = select(Client).where(Client.mobile == client.mobile).order_by(Client.id)
    return list(db.session.scalars(query))


def skip_queued(client: Client) -> int:
    """Mark every queued text to the client skipped ('Opted out'); the caller commits.

    Jobs already in Redis find the rows no longer queued, and delivery re-checks opted_out.
    """
    where = [Message.direction == Direction.OUT, Message.status == Status.QUEUED,
             Message.channel.in_(TEXTS)]
    to_client = Message.client_id == client.id
    if client.mobile:
        to_client = to_client | and_(Message.client_id.is_(None), Message.to_addr == client.mobile)
    ids = list(db.session.scalars(
        update(Message).where(*where, to_client)
        .values(status=Status.SKIPPED, reason=OPTED_OUT, next_attempt_at=None)
        .returning(Message.id)
    ))
    write_events([{"message_id": i, "status": Status.SKIPPED, "detail": OPTED_OUT} for i in ids])
    return len(ids)


def opt_in(client: Client, message: Message | None = None) -> str:
    """Resubscribe the number (every client sharing it) and confirm; commits."""
    if not client.opted_out:
        return "START from a subscribed client; nothing to do"
    for person in sharing_number(client):
        if person.opted_out:
            person.opted_out, person.opted_out_at = False, None
            record("client.opted_in", f"{person.name} replied START: texts resume",
                   client_id=person.id, message_id=getattr(message, "id", None))
    db.session.commit()
    if client.mobile:
        auto.send_text(client.mobile, auto.start_text(), client_id=client.id,
                       reason="START confirmation")
    return "Resubscribed"


# ---- appointment answers -----------------------------------------------------------------------


def pending_appointments(client_id: int) -> list[Appointment]:
    """The client's upcoming scheduled appointments not yet answered YES or NO, soonest first."""
    answered = exists().where(AppointmentAnswer.appointment_id == Appointment.id)
    query = (
        select(Appointment)
        .where(Appointment.client_id == client_id, Appointment.start_at > utcnow(),
               Appointment.status == AppointmentStatus.SCHEDULED, ~answered)
        .order_by(Appointment.start_at, Appointment.id)
    )
    return list(db.session.scalars(query))


def answer_appointment(client: Client, message: Message, kind: Kind, code: int | None
                       ) -> str | None:
    """Confirm or cancel the appointment a YES/NO means; None when there is none pending."""
    from core.messaging.compose import local_label

    pending = pending_appointments(client.id)
    if not pending:
        return None
    word = "YES" if kind == Kind.YES else "NO"
    if code is None and len(pending) > 1:
        options = "; ".join(f"{word} {n} for {local_label(a.start_at)}"
                            for n, a in enumerate(pending, 1))
        auto.send_text(message.from_addr, f"You have {len(pending)} appointments. Reply "
                       f"{options}.", client_id=client.id, reason="Which appointment?")
        return "Several appointments pending; asked which"
    if code is not None and not 1 <= code <= len(pending):
        return None
    appointment = pending[(code or 1) - 1]
    return _record_answer(client, message, appointment, kind, local_label(appointment.start_at))


def _record_answer(client, message, appointment, kind, when: str) -> str:
    """Store the answer, audit it, cancel on NO, and tell the client; commits."""
    yes = kind == Kind.YES
    db.session.add(AppointmentAnswer(appointment_id=appointment.id, message_id=message.id,
                                     answer="yes" if yes else "no"))
    if not yes:
        appointment.status = AppointmentStatus.CANCELLED
    action = "confirmed" if yes else "cancelled"
    record(f"appointment.{action}", f"{client.name} replied {'YES' if yes else 'NO'}: "
           f"appointment {when} {action} by text", client_id=client.id,
           appointment_id=appointment.id, message_id=message.id)
    db.session.commit()
    body = (f"Thank you, your appointment on {when} is confirmed." if yes else
            f"Your appointment on {when} is cancelled. Call us to book another time.")
    auto.send_text(message.from_addr, body, client_id=client.id, appointment_id=appointment.id,
                   reason=f"Appointment {action}")
    return f"Appointment #{appointment.id} {action}"


def answer_of(appointment_id: int) -> AppointmentAnswer | None:
    """The client's text answer to an appointment, if any."""
    query = select(AppointmentAnswer).where(AppointmentAnswer.appointment_id == appointment_id)
    return db.session.scalar(query.order_by(AppointmentAnswer.id.desc()).limit(1))


# ---- staff side --------------------------------------------------------------------------------


def _touch(client_id: int) -> Conversation:
    """The client's conversation row (made on first use), marked as just active."""
    conversation = db.session.get(Conversation, client_id)
    if conversation is None:
        conversation = Conversation(client_id=client_id)
        db.session.add(conversation)
    conversation.updated_at = utcnow()
    return conversation


def _reopen(client_id: int) -> None:
    """A text from the client: its thread (made on first use) is active and open, in one
    upsert (the drain runs this for every inbound text)."""
    now = utcnow()
    dialect = postgresql if is_postgresql() else sqlite
    db.session.execute(
        dialect.insert(Conversation.__table__).values(client_id=client_id, updated_at=now)
        .on_conflict_do_update(index_elements=["client_id"],
                               set_={"updated_at": now, "closed_at": None}))


def mark_read(client_id: int) -> int:
    """Mark every inbound text of the client read; commits; returns how many changed."""
    changed = db.session.execute(
        update(Message)
        .where(Message.client_id == client_id, Message.direction == Direction.IN,
               Message.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
    db.session.commit()
    if changed:
        unread.bump()
    return changed


def mark_unread(client_id: int) -> bool:
    """Mark the client's latest inbound text unread again; commits."""
    latest = db.session.scalar(
        select(Message.id).where(Message.client_id == client_id,
                                 Message.direction == Direction.IN)
        .order_by(Message.id.desc()).limit(1)
    )
    if latest is None:
        return False
    db.session.execute(update(Message).where(Message.id == latest).values(read_at=None))
    db.session.commit()
    unread.bump()
    return True


def assign(client_id: int, user_id: int | None, actor=None) -> Conversation:
    """Give the conversation to a staff member (None: nobody); commits."""
    conversation = _touch(client_id)
    conversation.assigned_to_id = user_id
    record("conversation.assigned", "Conversation assigned" if user_id else
           "Conversation unassigned", actor=actor, client_id=client_id,
           data={"user_id": user_id})
    db.session.commit()
    unread.bump()  # the polled lists show who has it
    return conversation


def set_closed(client_id: int, closed: bool, actor=None) -> Conversation:
    """Close or reopen the conversation; a new text from the client reopens it; commits."""
    conversation = _touch(client_id)
    conversation.closed_at = utcnow() if closed else None
    record("conversation.closed" if closed else "conversation.reopened",
           "Conversation closed" if closed else "Conversation reopened", actor=actor,
           client_id=client_id)
    db.session.commit()
    unread.bump()  # the polled lists show open and closed threads
    return conversation


def client_has_written(client_id: int) -> bool:
    """True once the client has sent us any text."""
    query = select(Message.id).where(Message.client_id == client_id,
                                     Message.direction == Direction.IN)
    return db.session.scalar(query.limit(1)) is not None


def reply(client_id: int, body: str, *, actor, images=()):
    """Send a staff reply to the client as a one-recipient broadcast; returns the broadcast.

    Raises ConversationError (opted out, reply-after-client rule) or ComposeError.
    """
    from core.messaging.compose import create_broadcast

    client = db.session.get(Client, client_id)
    if client is None:
        raise ConversationError("That client no longer exists.")
    if client.opted_out:
        raise ConversationError(f"{client.name} has opted out (replied STOP): no text can be "
                                "sent until they reply START.")
    if auto.enabled("twoway_reply_after_client") and not client_has_written(client_id):
        raise ConversationError(f"You can reply only after {client.name} has written first "
                                "(see Conversations settings).")
    channel = Channel.MMS if images else Channel.SMS
    broadcast = create_broadcast(actor=actor, channel=channel, recipients={"client_id": client_id},
                                 body=body, attachments=list(images))
    _touch(client_id)
    mark_read(client_id)
    return broadcast

