"""Two-way texting: what an inbound text does (keywords, answers, auto-responses), opt-out and
opt-in, and the staff side of a conversation (read, assign, close, reply).

`handle_inbound` is called by the inbound drain (core.messaging.inbound_drain, a job on "high")
once per inbound message; everything else is called by the conversations blueprint.
"""

import logging

from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus
from core.audit.operations import record
from core.bulk import is_postgresql
from core.clients import consent
from core.clients.models import Client
from core.confirmations import operations as confirmations
from core.conversations import autoresponse as auto
from core.conversations import unread
from core.conversations.keywords import Kind, is_conversational, parse
from core.conversations.models import AppointmentAnswer, Conversation
from core.conversations.signals import client_replied
from core.extensions import db
from core.messaging.models import Channel, Direction, Message, Status
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
    client_replied.send(message)  # e.g. the staff chat announces unassigned replies
    parsed = parse(message.body)
    kind = parsed.kind
    if kind == Kind.YES and client.opted_out:
        kind = Kind.START  # YES after STOP resubscribes
    if kind == Kind.STOP:
        done = opt_out(client, message)
    elif kind == Kind.START:
        done = opt_in(client, message)
    elif kind == Kind.JOIN:
        done = join_marketing(client, message)
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
    """Not a keyword: a pending confirmation request becomes Unrecognised and the thread is
    flagged for staff; a question or a sentence gets no "I didn't understand"."""
    done = "Not recognised as a keyword"
    if confirmations.mark_unrecognised(client.id, message.id, address=message.from_addr):
        flag(client.id, "Reply to a confirmation request is not YES or NO")
        done = "Not YES or NO to a confirmation request; flagged for staff"
    if is_conversational(message.body):
        return f"{done}; a question or sentence gets no auto-response"
    if message.channel == Channel.MMS:  # a picture or file is for a person to look at
        return f"{done}; a picture message gets no auto-response"
    if auto.enabled("autoreply_unrecognised"):
        if auto.auto_respond(message.from_addr, auto.NOT_UNDERSTOOD, client_id=client.id,
                             reason="Unrecognised text"):
            return f"{done}; answered “Sorry, I didn't understand”"
    return done


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
        consent.withdraw(person, "stop", message_id=getattr(message, "id", None))
        record("client.opted_out", f"{person.name} replied STOP: no more texts "
               f"({cancelled} queued cancelled)", client_id=person.id,
               message_id=getattr(message, "id", None),
               by_client=client if message is not None else None)
    db.session.commit()
    if not already and client.mobile:
        auto.send_text(client.mobile, auto.stop_text(), client_id=None, reason="STOP confirmation")
    return f"Opted out; {skipped} queued message(s) skipped"


def network_opt_out(message: Message, detail: str) -> None:
    """The network says the recipient asked not to receive messages from this service: opt the
    number out (every client sharing it) as STOP does, queued texts skipped, no confirmation."""
    people = db.session.scalars(select(Client).where(Client.mobile == message.to_addr))
    for person in people:
        if person.opted_out:
            continue
        person.opted_out, person.opted_out_at = True, utcnow()
        cancelled = skip_queued(person)
        record("client.opted_out", f"{person.name}: the network reports they asked not to "
               f"receive messages from this service ({detail or 'opted out'}); "
               f"{cancelled} queued cancelled", client_id=person.id, message_id=message.id)


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
                   client_id=person.id, message_id=getattr(message, "id", None),
                   by_client=client if message is not None else None)
    db.session.commit()
    if client.mobile:
        auto.send_text(client.mobile, auto.start_text(), client_id=client.id,
                       reason="START confirmation")
    return "Resubscribed"


def join_marketing(client: Client, message: Message) -> str:
    """JOIN: the client agrees to marketing texts (and resubscribes after STOP); confirms once;
    commits."""
    if client.opted_out:
        opt_in(client, message)
    if not consent.give(client, "keyword", message_id=message.id):
        return "JOIN from a client who already agreed to marketing; nothing to do"
    db.session.commit()
    if client.mobile:
        auto.send_text(client.mobile, auto.join_text(), client_id=client.id,
                       reason="JOIN confirmation")
    return "Marketing consent given"


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
    """Confirm or decline the appointment a YES/NO means; None when none matches.

    Appointments awaiting a confirmation request come first (matched by the code their text
    carried); without any, the client's upcoming scheduled appointments not yet answered."""
    from core.messaging.compose import local_label

    pending = confirmations.awaiting(client.id, address=message.from_addr)
    if pending:
        appointment = confirmations.pick(pending, code)
        if appointment is None and code is None:
            confirmations.ensure_codes(pending)
            return _ask_which(client, message, kind, [(a.confirmation_code, a) for a in pending])
    else:
        pending = pending_appointments(client.id)
        if not pending:
            return None
        if code is None and len(pending) > 1:
            return _ask_which(client, message, kind, list(enumerate(pending, 1)))
        ok = code is None or 1 <= code <= len(pending)
        appointment = pending[(code or 1) - 1] if ok else None
    if appointment is None:
        return None
    return _record_answer(client, message, appointment, kind, local_label(appointment.start_at))


def _ask_which(client, message, kind, numbered: list) -> str:
    """Several appointments could be meant: ask for the code (commits the codes)."""
    from core.messaging.compose import local_label

    word = "YES" if kind == Kind.YES else "NO"
    options = "; ".join(f"{word} {n} for {local_label(a.start_at)}" for n, a in numbered)
    db.session.commit()
    auto.send_text(message.from_addr, f"You have {len(numbered)} appointments. Reply "
                   f"{options}.", client_id=client.id, reason="Which appointment?")
    return "Several appointments pending; asked which"


def _record_answer(client, message, appointment, kind, when: str) -> str:
    """Store the answer and the confirmation status (audited); NO flags the thread for staff
    and cancels only when Settings say so; tell the client; commits."""
    yes = kind == Kind.YES
    db.session.add(AppointmentAnswer(appointment_id=appointment.id, message_id=message.id,
                                     answer="yes" if yes else "no"))
    # The text now belongs to the appointment it acted on (Inbox, message page, appointment).
    db.session.execute(update(Message).where(Message.id == message.id,
                                             Message.appointment_id.is_(None))
                       .values(appointment_id=appointment.id))
    status = ConfirmationStatus.CONFIRMED if yes else ConfirmationStatus.DECLINED
    confirmations.set_status(appointment, status, f"{client.name} replied "
                             f"{'YES' if yes else 'NO'} by text for {when}",
                             message_id=message.id, by_client=client)
    cancel = not yes and auto.enabled("confirmation_cancel_on_no")
    if cancel:
        appointment.mark_status(AppointmentStatus.CANCELLED)
        record("appointment.cancelled", f"{client.name} replied NO: appointment {when} "
               "cancelled by text", client_id=client.id, appointment_id=appointment.id,
               message_id=message.id, by_client=client)
    if not yes:
        flag(client.id, f"Declined the appointment on {when}")
    db.session.commit()
    action = "confirmed" if yes else "cancelled" if cancel else "declined"
    auto.send_text(message.from_addr, _answer_text(action, when), client_id=client.id,
                   appointment_id=appointment.id, reason=f"Appointment {action}")
    return f"Appointment #{appointment.id} {action}"


def _answer_text(action: str, when: str) -> str:
    """What the client hears back after YES or NO."""
    if action == "confirmed":
        return f"Thank you, your appointment on {when} is confirmed."
    if action == "cancelled":
        return f"Your appointment on {when} is cancelled. Call us to book another time."
    return (f"Thank you for letting us know you cannot come on {when}. "
            "We will be in touch to find another time.")


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


def flag(client_id: int, reason: str) -> None:
    """Put the client's thread in front of staff: open, flagged with the reason (the caller
    commits; the polled lists see it through the unread version)."""
    conversation = _touch(client_id)
    conversation.closed_at = None
    conversation.flagged_at, conversation.flag_reason = utcnow(), reason[:200]
    unread.bump()


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
    if closed:  # handled: the flag goes with it
        conversation.flagged_at, conversation.flag_reason = None, ""
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
    # A reply in a conversation answers the client: it is not held to the sending window.
    broadcast = create_broadcast(actor=actor, channel=channel, recipients={"client_id": client_id},
                                 body=body, attachments=list(images),
                                 options={"outside_window": True, "category": "direct"})
    _touch(client_id)
    mark_read(client_id)
    return broadcast

