"""The life of a secure message after it is sent: expiry and purge (worker and sweeper), and
the staff actions revoke, unlock and resend, with their audit events."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core import settings
from core.extensions import db
from core.messaging.models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    Direction,
    Message,
    Status,
)
from core.secure.models import SecureFile, SecureMessage
from core.secure.operations import (
    LINK_MARK,
    SLOT,
    SecureError,
    audit_event,
    compile_notice,
    config,
    dead_hash,
    link_url,
    schedule_purge,
)
from core.types import utcnow

log = logging.getLogger(__name__)


def purge(ids) -> int:
    """Drop the content of these secure messages (and files no open message still needs)."""
    ids = list(ids)
    if not ids:
        return 0
    now = utcnow()
    rows = list(db.session.scalars(select(SecureMessage).where(
        SecureMessage.id.in_(ids), SecureMessage.purged_at.is_(None))))
    for secure in rows:
        secure.content, secure.pin_hash, secure.purged_at = None, None, now
        audit_event(secure, "secure.purged", "Secure message content purged (link expired)")
    db.session.flush()
    for broadcast_id in {r.broadcast_id for r in rows if r.broadcast_id}:
        _purge_files(broadcast_id)
    db.session.commit()
    if rows:
        log.info("purged %d secure messages", len(rows))
    return len(rows)


def _purge_files(broadcast_id: int) -> None:
    """Files, and the broadcast's sealed copy of the text, go once no message of it can still
    be read and none is still to come (it fanned out, or was cancelled)."""
    alive = db.session.scalar(select(SecureMessage.id).where(
        SecureMessage.broadcast_id == broadcast_id, SecureMessage.purged_at.is_(None)).limit(1))
    broadcast = db.session.get(Broadcast, broadcast_id)
    if alive is not None or broadcast is None or not (
            broadcast.fanned_out_at or broadcast.status == BroadcastStatus.CANCELLED):
        return
    db.session.execute(update(SecureFile).where(SecureFile.broadcast_id == broadcast_id)
                       .values(data=None))
    opts = dict((broadcast.options or {}).get("secure") or {})
    if opts.pop("content", None) is not None:
        broadcast.options = {**broadcast.options, "secure": {**opts, "purged": True}}


def _purge_cancelled() -> int:
    """The sealed text and files of cancelled secure broadcasts (nothing more will use them)."""
    sealed = Broadcast.options[("secure", "content")].as_string()
    ids = db.session.scalars(select(Broadcast.id).where(
        Broadcast.status == BroadcastStatus.CANCELLED, sealed.is_not(None)).limit(500)).all()
    for broadcast_id in ids:
        _purge_files(broadcast_id)
    return len(ids)


def purge_expired(now: datetime | None = None, *, broadcast_id=None, secure_id=None) -> int:
    """Purge every secure message past its expiry (optionally of one broadcast or one row)."""
    now = now or utcnow()
    query = select(SecureMessage.id).where(SecureMessage.purged_at.is_(None),
                                           SecureMessage.expires_at <= now)
    if broadcast_id is not None:
        query = query.where(SecureMessage.broadcast_id == broadcast_id)
    if secure_id is not None:
        query = query.where(SecureMessage.id == secure_id)
    purged = purge(db.session.scalars(query.limit(5000)).all())
    if broadcast_id is None and secure_id is None and _purge_cancelled():  # the sweeper's pass
        db.session.commit()
    return purged


def for_message(message: Message) -> SecureMessage | None:
    """The secure message a notice (or a portal reply) belongs to, if any."""
    found = db.session.scalar(select(SecureMessage).where(
        (SecureMessage.message_id == message.id)
        | (SecureMessage.reply_message_id == message.id)).limit(1))
    if found is not None or message.broadcast_id is None:
        return found
    # An older notice (replaced by a resend) still shows its secure message's status.
    query = select(SecureMessage).where(SecureMessage.broadcast_id == message.broadcast_id,
                                        SecureMessage.to_addr == message.to_addr)
    for column, value in ((SecureMessage.client_id, message.client_id),
                          (SecureMessage.appointment_id, message.appointment_id)):
        query = query.where(column.is_(None) if value is None else column == value)
    return db.session.scalar(query.limit(1))


# ---- staff actions ----------------------------------------------------------------------------


def _staff_target(secure_id: int) -> SecureMessage:
    secure = db.session.get(SecureMessage, secure_id)
    if secure is None:
        raise LookupError(secure_id)
    return secure


def revoke(secure_id: int, *, actor) -> SecureMessage:
    """Kill the link at once (the content stays until expiry, for a resend). Commits."""
    secure = _staff_target(secure_id)
    if secure.revoked_at is None:
        secure.revoked_at = utcnow()
        audit_event(secure, "secure.revoked", "Secure link revoked", actor=actor)
    db.session.commit()
    return secure


def unlock(secure_id: int, *, actor) -> SecureMessage:
    """Let the recipient try the PIN again (five fresh attempts). Commits."""
    secure = _staff_target(secure_id)
    secure.locked_at, secure.pin_failures = None, 0
    audit_event(secure, "secure.unlocked", "Secure link unlocked", actor=actor)
    db.session.commit()
    return secure


def resend(secure_id: int, *, actor) -> Message:
    """A fresh link in a new notice; the old link dies; the lifetime starts again. Commits."""
    from core.messaging.pipeline import enqueue_delivery
    from core.messaging.transitions import lease, write_events

    secure = _staff_target(secure_id)
    if secure.purged_at is not None or secure.content is None:
        raise SecureError("The content was purged; compose a new secure message instead.")
    secure.token_hash = dead_hash()  # the old link dies now; delivery mints the new one
    now = utcnow()
    hours = _lifetime_of(secure)
    secure.expires_at = now + timedelta(hours=hours)
    secure.revoked_at = secure.locked_at = None
    secure.pin_failures, secure.resent_count = 0, secure.resent_count + 1
    subject, body = _notice_text(secure, link_url(SLOT))
    message = Message(broadcast_id=secure.broadcast_id, client_id=secure.client_id,
                      appointment_id=secure.appointment_id, direction=Direction.OUT,
                      channel=secure.channel, to_addr=secure.to_addr, subject=subject,
                      body=body, status=Status.QUEUED, send_at=now, held_until=now + lease())
    db.session.add(message)
    db.session.flush()
    secure.message_id = message.id
    write_events([{"message_id": message.id, "status": Status.QUEUED,
                   "detail": "Secure link resent"}])
    audit_event(secure, "secure.resent",
                "A fresh secure link was sent; the old one no longer opens", actor=actor)
    db.session.commit()
    enqueue_delivery([message.id])
    schedule_purge(secure.expires_at, secure_id=secure.id)
    return message


def _lifetime_of(secure: SecureMessage) -> float:
    broadcast = db.session.get(Broadcast, secure.broadcast_id) if secure.broadcast_id else None
    opts = (broadcast.options or {}).get("secure", {}) if broadcast else {}
    return float(opts.get("lifetime_hours") or config()["lifetime_hours"])


def _notice_text(secure: SecureMessage, link: str) -> tuple[str, str]:
    """The notice for one recipient, rendered with their merge fields."""
    from core.appointments.models import Appointment
    from core.clients.models import Client
    from core.messaging.templating import business_values, business_zone, context_for

    cfg = config()
    person = db.session.get(Client, secure.client_id) if secure.client_id else None
    appointment = (db.session.get(Appointment, secure.appointment_id)
                   if secure.appointment_id else None)
    context = context_for(person, appointment, zone=business_zone(), business=business_values())
    email = secure.channel == Channel.EMAIL
    body = compile_notice(cfg["email_body" if email else "sms_body"], "notice").render(context)
    subject = compile_notice(cfg["email_subject"], "subject").render(context) if email else ""
    return subject.replace(LINK_MARK, link), body.replace(LINK_MARK, link)


def state_of(secure: SecureMessage, now: datetime | None = None) -> str:
    """One word for staff: open, locked, revoked, expired or purged."""
    now = now or utcnow()
    if secure.purged_at is not None:
        return "purged"
    if secure.revoked_at is not None:
        return "revoked"
    if secure.locked_at is not None:
        return "locked"
    return "expired" if secure.expires_at <= now else "open"


def rotate() -> int:
    """Re-encrypt every unpurged content and file with the primary key; returns how many."""
    keys, count = settings.cipher(), 0
    for secure in db.session.scalars(select(SecureMessage).where(
            SecureMessage.content.is_not(None))):
        secure.content = keys.rotate(secure.content.encode()).decode()
        count += 1
    for row in db.session.scalars(select(SecureFile).where(SecureFile.data.is_not(None))):
        row.data = keys.rotate(bytes(row.data))
        count += 1
    db.session.commit()
    return count
