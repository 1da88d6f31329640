"""What a link's visitor does in the portal: open, reveal, PIN, read, download, reply once,
ask for a new link. Views call these; each commits."""

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from core import settings
from core.extensions import db
from core.messaging.models import Direction, Message, Status
from core.secure.models import SecureFile, SecureMessage
from core.secure.operations import (
    MAX_PIN_FAILURES,
    SecureError,
    audit_event,
    find,
    notice_of,
    pin_matches,
)
from core.types import utcnow


@dataclass(frozen=True)
class PinResult:
    """The outcome of one PIN attempt (`busy`: every attempt is reserved by guesses in flight)."""

    ok: bool
    attempts_left: int = 0
    locked: bool = False
    busy: bool = False


def mark_opened(secure: SecureMessage) -> None:
    """The link was loaded (maybe by a preview bot: no audit, only the first time); commits."""
    if secure.opened_at is None:
        secure.opened_at = utcnow()
        notice_of(secure)  # links the notice for the staff pages
        db.session.commit()


def reveal(secure: SecureMessage) -> None:
    """A person tapped "reveal": record it once and audit it; commits."""
    if secure.revealed_at is None:
        secure.revealed_at = utcnow()
        audit_event(secure, "secure.revealed", "Secure link opened and revealed by the recipient")
    db.session.commit()


def try_pin(secure: SecureMessage, pin: str) -> PinResult:
    """Reserve an attempt, then compare: at most 5 wrong PINs are ever compared. Commits.

    The reservation is one conditional UPDATE, so parallel guesses cannot all slip past the
    lock; the right PIN gives its attempt back, the 5th reserved failure locks the link.
    """
    reserved = _reserve_attempt(secure.id)
    if reserved is None:
        locked = db.session.scalar(select(SecureMessage.locked_at).where(
            SecureMessage.id == secure.id))
        return PinResult(False, locked=locked is not None, busy=locked is None)
    if secure.pin_hash and pin_matches(secure.pin_hash, (pin or "").strip()):
        db.session.execute(update(SecureMessage).where(SecureMessage.id == secure.id).values(
            pin_failures=SecureMessage.pin_failures - 1))
        db.session.commit()
        return PinResult(True)
    return _failed(secure, reserved)


def _reserve_attempt(secure_id: int) -> int | None:
    """Count one attempt unless 5 are already counted or the link is locked; commits.

    Returns the attempt's number (1-5), or None when no attempt is left."""
    number = db.session.scalar(update(SecureMessage).where(
        SecureMessage.id == secure_id, SecureMessage.pin_failures < MAX_PIN_FAILURES,
        SecureMessage.locked_at.is_(None)).values(
        pin_failures=SecureMessage.pin_failures + 1).returning(SecureMessage.pin_failures))
    db.session.commit()
    return number


def _failed(secure: SecureMessage, number: int) -> PinResult:
    """A reserved attempt failed: audit it, and lock the link on the last one; commits."""
    now = utcnow()
    values = {"last_failure_at": now}
    if number >= MAX_PIN_FAILURES:
        values["locked_at"] = now
    db.session.execute(update(SecureMessage).where(SecureMessage.id == secure.id).values(
        **values))
    if number >= MAX_PIN_FAILURES:
        audit_event(secure, "secure.locked",
                    f"Secure link locked after {MAX_PIN_FAILURES} wrong PIN attempts")
        db.session.commit()
        return PinResult(False, locked=True)
    audit_event(secure, "secure.pin_failed", "Wrong PIN typed on a secure link")
    db.session.commit()
    return PinResult(False, attempts_left=MAX_PIN_FAILURES - number)


def read(secure: SecureMessage) -> dict:
    """The clear content (subject, body) and files; records the first reading. Commits."""
    if secure.read_at is None:
        secure.read_at = utcnow()
        audit_event(secure, "secure.viewed", "Secure message read by the recipient")
        db.session.commit()
    clear = json.loads(settings.decrypt(secure.content))
    return {**clear, "files": files_of(secure)}


def files_of(secure: SecureMessage) -> list[SecureFile]:
    """The (still stored) files of a secure message."""
    if secure.broadcast_id is None:
        return []
    return list(db.session.scalars(
        select(SecureFile).where(SecureFile.broadcast_id == secure.broadcast_id,
                                 SecureFile.data.is_not(None)).order_by(SecureFile.id)))


def file_data(secure: SecureMessage, file_id: int) -> tuple[SecureFile, bytes] | None:
    """One decrypted file of the message, or None."""
    row = db.session.get(SecureFile, file_id)
    if row is None or row.broadcast_id != secure.broadcast_id or row.data is None:
        return None
    return row, settings.cipher().decrypt(row.data)


def reply(secure: SecureMessage, text: str) -> Message:
    """The recipient's one reply: an inbound Message in the Inbox, linked to the client."""
    text = (text or "").strip()
    if not text:
        raise SecureError("Write your reply first.")
    if len(text) > 2000:
        raise SecureError("The reply is too long: 2,000 characters at most.")
    claimed = db.session.execute(update(SecureMessage).where(
        SecureMessage.id == secure.id, SecureMessage.replied_at.is_(None)).values(
        replied_at=utcnow())).rowcount
    db.session.commit()
    if not claimed:
        raise SecureError("You have already replied to this message.")
    message = _inbound(secure, f"secure-{secure.id}-reply", "Reply to a secure message", text)
    secure.reply_message_id = message.id
    audit_event(secure, "secure.replied",
                f"Recipient replied inside the secure portal: {text[:200]}")
    db.session.commit()
    return message


def _inbound(secure: SecureMessage, ref: str, subject: str, body: str) -> Message:
    """A message from the recipient in the Inbox, beside their notice (the caller commits).

    Stored here rather than through the webhook path so that words like STOP or YES typed in
    the portal are not taken as keywords, and no auto-response is texted back."""
    from core.messaging.inbound import PROCESSED
    from core.messaging.models import MessageEvent

    message = Message(direction=Direction.IN, channel=secure.channel, status=Status.RECEIVED,
                      from_addr=secure.to_addr, to_addr="", subject=subject, body=body,
                      provider="portal", provider_id=ref, client_id=secure.client_id,
                      appointment_id=secure.appointment_id, created_at=utcnow(), segments=1)
    db.session.add(message)
    db.session.flush()
    db.session.add(MessageEvent(message_id=message.id, status=Status.RECEIVED, code=PROCESSED,
                                detail="Received through the secure portal"))
    return message


def request_new_link(token: str) -> None:
    """A visitor of a dead link asks for a new one: tell staff (once an hour per link)."""
    secure = find(token)
    now = utcnow()
    if secure is None or (secure.link_requested_at
                          and now - secure.link_requested_at < timedelta(hours=1)):
        return
    secure.link_requested_at = now
    audit_event(secure, "secure.link_requested", "Recipient asked for a new secure link")
    _inbound(secure, f"secure-{secure.id}-relink-{int(now.timestamp())}",
             "New secure link requested",
             "I asked for a new secure link: the one I have can no longer be opened.")
    db.session.commit()
