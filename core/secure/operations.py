"""Secure messages: encrypt at send, open by link (+ PIN), lock, purge at expiry, staff actions.

The link's token (secrets.token_urlsafe(32), 256 bits) is shown once, in the notice; only its
SHA-256 is stored. Content and files are encrypted with the settings' Fernet keys (so key
rotation is the one documented in core/settings.py). After a purge only metadata remains.
"""

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from core import settings
from core.audit.operations import record
from core.extensions import db
from core.messaging.models import Broadcast, Channel, Direction, Message, Setting, Status
from core.secure.models import SecureFile, SecureMessage
from core.types import utcnow

log = logging.getLogger(__name__)

MAX_PIN_FAILURES = 5
CHANNELS = (Channel.SMS, Channel.EMAIL)
SETTINGS_KEY = "secure_messaging"
LINK_MARK = "\x00LINK\x00"  # stands for {{ link }} while the sandboxed engine renders
LINK_FIELD = re.compile(r"\{\{\s*link\s*\}\}")
LINK_IN_TEXT = re.compile(r"/s/[A-Za-z0-9_-]{20,}")
PIN_RE = re.compile(r"\d{4,8}")
DEFAULTS = {
    "enabled": False,
    "email_subject": "A secure message from {{ business_name }}",
    "email_body": ("Hello {{ first_name }},\n\n{{ business_name }} sent you a secure message. "
                   "Open it here:\n{{ link }}\n\nThe link expires; if it no longer opens, "
                   "ask us for a new one."),
    "sms_body": "{{ business_name }}: you have a secure message. Open it here: {{ link }}",
    "lifetime_hours": 72,
    "pin_required": False,
}


class SecureError(ValueError):
    """A refused secure action, with a message fit to show the person who asked."""


# ---- settings -----------------------------------------------------------------------------


def config() -> dict:
    """The secure-messaging settings (one JSON row), with defaults for what is not set."""
    row = db.session.get(Setting, SETTINGS_KEY)
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    return {**DEFAULTS, **{k: v for k, v in stored.items() if k in DEFAULTS}}


def save_config(values: dict, *, actor=None) -> None:
    """Validate the notice templates, store the settings and audit the change; commits."""
    for key in ("email_subject", "email_body", "sms_body"):
        _compile_notice(values[key], key.replace("_", " "))
    if "{{" not in values["sms_body"] or not LINK_FIELD.search(values["sms_body"]):
        raise SecureError("The text notice must contain {{ link }}.")
    if not LINK_FIELD.search(values["email_body"]):
        raise SecureError("The email body must contain {{ link }}.")
    clean = {k: values[k] for k in DEFAULTS}
    row = db.session.get(Setting, SETTINGS_KEY)
    if row is None:
        db.session.add(Setting(key=SETTINGS_KEY, value=clean))
    else:
        row.value = clean
    record("settings.changed", "Secure messaging settings changed", actor=actor,
           data={"keys": sorted(clean)})
    db.session.commit()


def _compile_notice(source: str, what: str):
    """A notice template compiled with {{ link }} stood in by a marker."""
    from core.messaging.templating import TemplateError, compile_template

    try:
        return compile_template(LINK_FIELD.sub(LINK_MARK, source or ""))
    except TemplateError as exc:
        raise SecureError(f"The {what}: {exc}") from None


# ---- tokens and PINs ------------------------------------------------------------------------


def new_token() -> tuple[str, str]:
    """A fresh link token (256 random bits) and the SHA-256 hex that is all we keep of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of a PIN."""
    return generate_password_hash(pin, method="scrypt")


def pin_matches(pin_hash: str, pin: str) -> bool:
    """Compare a typed PIN with its hash (werkzeug compares with hmac.compare_digest)."""
    return bool(pin) and check_password_hash(pin_hash, pin)


def link_url(token: str) -> str:
    """The absolute portal address of a token."""
    from core.messaging.attachments import _public_base_url

    return f"{_public_base_url().rstrip('/')}/s/{token}"


def find(token: str) -> SecureMessage | None:
    """The secure message a token opens (any state), or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(SecureMessage).where(SecureMessage.token_hash == hash_token(token)))


# ---- sending ---------------------------------------------------------------------------------


def check_request(channel, pin: str, lifetime_hours) -> dict:
    """The secure options of a compose request, validated; raises SecureError."""
    cfg = config()
    if not cfg["enabled"]:
        raise SecureError("Secure messaging is turned off (Settings → Secure messages).")
    if Channel(channel) not in CHANNELS:
        raise SecureError("Only a text (SMS) or an email can be sent securely.")
    pin = (pin or "").strip()
    if pin and not PIN_RE.fullmatch(pin):
        raise SecureError("The PIN must be 4 to 8 digits.")
    if cfg["pin_required"] and not pin:
        raise SecureError("Set a PIN: secure messages need one (give it to the client "
                          "by another way than the message).")
    # Fractions of an hour are allowed from code (tests); the forms ask for whole hours.
    hours = float(lifetime_hours or cfg["lifetime_hours"])
    if not 0 < hours <= 24 * 90:
        raise SecureError("The link lifetime must be between 1 hour and 90 days.")
    return {"pin_hash": hash_pin(pin) if pin else None, "lifetime_hours": hours}


def prepare_broadcast(broadcast: Broadcast, options: dict, uploads) -> None:
    """Move the clear text of a flushed broadcast into encrypted options and its files into
    encrypted rows; the broadcast keeps only a placeholder. The caller commits."""
    sealed = settings.encrypt(json.dumps({"subject": broadcast.subject, "body": broadcast.body}))
    broadcast.options = {**(broadcast.options or {}),
                         "secure": {**options, "content": sealed}}
    broadcast.subject, broadcast.body = "", "(secure message: content encrypted)"
    keys = settings.cipher()
    for item in uploads:
        db.session.add(SecureFile(broadcast_id=broadcast.id, filename=item.filename[:200],
                                  content_type=item.content_type, size=len(item.data),
                                  data=keys.encrypt(item.data)))


def is_secure(broadcast) -> bool:
    """True for a broadcast sent through the secure portal."""
    return bool((broadcast.options or {}).get("secure"))


def secure_plan(broadcast: Broadcast):
    """The fan-out plan of a secure broadcast: one SecureMessage per recipient, and a notice
    with that recipient's link as the message text (the content never enters a Message)."""
    from core.messaging.recipients import plan

    opts = broadcast.options["secure"]
    clear = json.loads(settings.decrypt(opts["content"]))
    expires_at = _expiry(broadcast, opts)
    content_draft = Broadcast(channel=broadcast.channel, subject=clear["subject"],
                              body=clear["body"], recipients=broadcast.recipients,
                              send_at=broadcast.send_at)
    cfg = config()
    email = broadcast.channel == Channel.EMAIL
    notice_draft = Broadcast(
        channel=broadcast.channel, subject=LINK_FIELD.sub(LINK_MARK, cfg["email_subject"]),
        body=LINK_FIELD.sub(LINK_MARK, cfg["email_body" if email else "sms_body"]),
        recipients=broadcast.recipients, send_at=broadcast.send_at)
    existing = _existing_keys(broadcast.id)
    for content, notice in zip(plan(content_draft), plan(notice_draft), strict=True):
        key = (content.client_id, content.appointment_id, content.to_addr)
        if content.skip_reason or key in existing:
            yield replace(content, subject="", body="")  # fan-out skips or records it bare
            continue
        token, digest = new_token()
        db.session.add(SecureMessage(
            broadcast_id=broadcast.id, client_id=content.client_id,
            appointment_id=content.appointment_id, channel=broadcast.channel,
            to_addr=content.to_addr, token_hash=digest, pin_hash=opts.get("pin_hash"),
            content=settings.encrypt(json.dumps({"subject": content.subject,
                                                 "body": content.body})),
            expires_at=expires_at))
        link = link_url(token)
        yield replace(content, subject=notice.subject.replace(LINK_MARK, link),
                      body=notice.body.replace(LINK_MARK, link))


def _existing_keys(broadcast_id: int) -> set[tuple]:
    rows = db.session.execute(
        select(SecureMessage.client_id, SecureMessage.appointment_id, SecureMessage.to_addr)
        .where(SecureMessage.broadcast_id == broadcast_id)).all()
    return {tuple(r) for r in rows}


def _expiry(broadcast: Broadcast, opts: dict) -> datetime:
    """The broadcast's expiry, fixed (and its purge job scheduled) the first time it fans out."""
    if opts.get("expires_at"):
        return datetime.fromisoformat(opts["expires_at"])
    expires_at = utcnow() + timedelta(hours=float(opts["lifetime_hours"]))
    broadcast.options = {**broadcast.options, "secure": {**opts,
                                                         "expires_at": expires_at.isoformat()}}
    db.session.flush()
    schedule_purge(expires_at, broadcast_id=broadcast.id)
    return expires_at


def schedule_purge(at: datetime, *, broadcast_id=None, secure_id=None):
    """An RQ job at the expiry moment that purges what is then past expiry."""
    from core.jobs import queue
    from core.messaging.pipeline import trigger_time

    return queue("low").enqueue_at(trigger_time(at), "core.secure.tasks.purge_expired",
                                   broadcast_id=broadcast_id, secure_id=secure_id)


# ---- the portal -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinResult:
    """The outcome of one PIN attempt."""

    ok: bool
    attempts_left: int = 0
    locked: bool = False


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
        _audit(secure, "secure.revealed", "Secure link opened and revealed by the recipient")
    db.session.commit()


def try_pin(secure: SecureMessage, pin: str) -> PinResult:
    """Check a PIN; a locked link refuses even the right one; the 5th failure locks. Commits."""
    if secure.locked_at is not None:
        return PinResult(False, locked=True)
    if secure.pin_hash and pin_matches(secure.pin_hash, (pin or "").strip()):
        return PinResult(True)
    now = utcnow()
    # One UPDATE counts the failure, so parallel guesses cannot slip past the limit.
    db.session.execute(update(SecureMessage).where(SecureMessage.id == secure.id).values(
        pin_failures=SecureMessage.pin_failures + 1, last_failure_at=now))
    db.session.execute(update(SecureMessage).where(
        SecureMessage.id == secure.id, SecureMessage.pin_failures >= MAX_PIN_FAILURES,
        SecureMessage.locked_at.is_(None)).values(locked_at=now))
    db.session.commit()
    db.session.refresh(secure)
    if secure.locked_at is not None:
        _audit(secure, "secure.locked",
               f"Secure link locked after {secure.pin_failures} wrong PIN attempts")
        db.session.commit()
        return PinResult(False, locked=True)
    _audit(secure, "secure.pin_failed", "Wrong PIN typed on a secure link")
    db.session.commit()
    return PinResult(False, attempts_left=MAX_PIN_FAILURES - secure.pin_failures)


def read(secure: SecureMessage) -> dict:
    """The clear content (subject, body) and files; records the first reading. Commits."""
    if secure.read_at is None:
        secure.read_at = utcnow()
        _audit(secure, "secure.viewed", "Secure message read by the recipient")
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
    from core.messaging.inbound import accept_inbound

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
    message, _ = accept_inbound(provider="portal", provider_id=f"secure-{secure.id}-reply",
                                from_addr=secure.to_addr, to_addr="", body=text,
                                channel=secure.channel, subject="Reply to a secure message")
    secure.reply_message_id = message.id
    _audit(secure, "secure.replied", "Recipient replied inside the secure portal")
    db.session.commit()
    return message


def request_new_link(token: str) -> None:
    """A visitor of a dead link asks for a new one: tell staff (once an hour per link)."""
    from core.messaging.inbound import accept_inbound

    secure = find(token)
    now = utcnow()
    if secure is None or (secure.link_requested_at
                          and now - secure.link_requested_at < timedelta(hours=1)):
        return
    secure.link_requested_at = now
    _audit(secure, "secure.link_requested", "Recipient asked for a new secure link")
    db.session.commit()
    ref = f"secure-{secure.id}-relink-{int(now.timestamp())}"
    accept_inbound(provider="portal", provider_id=ref,
                   from_addr=secure.to_addr, to_addr="", channel=secure.channel,
                   subject="New secure link requested",
                   body="I asked for a new secure link: the one I have can no longer be opened.")


# ---- expiry and purge -------------------------------------------------------------------------


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
        _redact_notice(secure)
        _audit(secure, "secure.purged", "Secure message content purged (link expired)")
    db.session.flush()
    for broadcast_id in {r.broadcast_id for r in rows if r.broadcast_id}:
        _purge_files(broadcast_id)
    db.session.commit()
    if rows:
        log.info("purged %d secure messages", len(rows))
    return len(rows)


def _purge_files(broadcast_id: int) -> None:
    """Files go once no message of the broadcast can still be read."""
    alive = db.session.scalar(select(SecureMessage.id).where(
        SecureMessage.broadcast_id == broadcast_id, SecureMessage.purged_at.is_(None)).limit(1))
    if alive is None:
        db.session.execute(update(SecureFile).where(SecureFile.broadcast_id == broadcast_id)
                           .values(data=None))


def purge_expired(now: datetime | None = None, *, broadcast_id=None, secure_id=None) -> int:
    """Purge every secure message past its expiry (optionally of one broadcast or one row)."""
    now = now or utcnow()
    query = select(SecureMessage.id).where(SecureMessage.purged_at.is_(None),
                                           SecureMessage.expires_at <= now)
    if broadcast_id is not None:
        query = query.where(SecureMessage.broadcast_id == broadcast_id)
    if secure_id is not None:
        query = query.where(SecureMessage.id == secure_id)
    return purge(db.session.scalars(query.limit(5000)).all())


def _redact_notice(secure: SecureMessage) -> None:
    """Take the dead link out of the stored notice text(s)."""
    notice = notice_of(secure)
    if notice is not None:
        notice.body = LINK_IN_TEXT.sub("/s/[link removed]", notice.body or "")
        notice.subject = LINK_IN_TEXT.sub("/s/[link removed]", notice.subject or "")


def notice_of(secure: SecureMessage) -> Message | None:
    """The latest notice message of a secure message (linked on first look)."""
    if secure.message_id is not None:
        return db.session.get(Message, secure.message_id)
    if secure.broadcast_id is None:
        return None
    query = select(Message).where(
        Message.broadcast_id == secure.broadcast_id, Message.direction == Direction.OUT,
        Message.to_addr == secure.to_addr)
    for column, value in ((Message.client_id, secure.client_id),
                          (Message.appointment_id, secure.appointment_id)):
        query = query.where(column.is_(None) if value is None else column == value)
    message = db.session.scalar(query.order_by(Message.id).limit(1))
    if message is not None:
        secure.message_id = message.id
    return message


def for_message(message: Message) -> SecureMessage | None:
    """The secure message a notice (or a portal reply) belongs to, if any."""
    found = db.session.scalar(select(SecureMessage).where(
        (SecureMessage.message_id == message.id)
        | (SecureMessage.reply_message_id == message.id)).limit(1))
    if found is not None or message.broadcast_id is None:
        return found
    query = select(SecureMessage).where(SecureMessage.broadcast_id == message.broadcast_id,
                                        SecureMessage.to_addr == message.to_addr,
                                        SecureMessage.message_id.is_(None))
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
        _audit(secure, "secure.revoked", "Secure link revoked", actor=actor)
    db.session.commit()
    return secure


def unlock(secure_id: int, *, actor) -> SecureMessage:
    """Let the recipient try the PIN again (five fresh attempts). Commits."""
    secure = _staff_target(secure_id)
    secure.locked_at, secure.pin_failures = None, 0
    _audit(secure, "secure.unlocked", "Secure link unlocked", actor=actor)
    db.session.commit()
    return secure


def resend(secure_id: int, *, actor) -> Message:
    """A fresh link in a new notice; the old link dies; the lifetime starts again. Commits."""
    from core.messaging.pipeline import enqueue_delivery
    from core.messaging.transitions import lease, write_events

    secure = _staff_target(secure_id)
    if secure.purged_at is not None or secure.content is None:
        raise SecureError("The content was purged; compose a new secure message instead.")
    old = notice_of(secure)
    token, secure.token_hash = new_token()
    now = utcnow()
    hours = _lifetime_of(secure)
    secure.expires_at = now + timedelta(hours=hours)
    secure.revoked_at = secure.locked_at = None
    secure.pin_failures, secure.resent_count = 0, secure.resent_count + 1
    subject, body = _notice_text(secure, link_url(token))
    message = Message(broadcast_id=secure.broadcast_id, client_id=secure.client_id,
                      appointment_id=secure.appointment_id, direction=Direction.OUT,
                      channel=secure.channel, to_addr=secure.to_addr, subject=subject,
                      body=body, status=Status.QUEUED, send_at=now, held_until=now + lease())
    if old is not None:
        old.body = LINK_IN_TEXT.sub("/s/[link removed]", old.body or "")
    db.session.add(message)
    db.session.flush()
    secure.message_id = message.id
    write_events([{"message_id": message.id, "status": Status.QUEUED,
                   "detail": "Secure link resent"}])
    _audit(secure, "secure.resent", "A fresh secure link was sent; the old one no longer opens",
           actor=actor)
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
    body = _compile_notice(cfg["email_body" if email else "sms_body"], "notice").render(context)
    subject = _compile_notice(cfg["email_subject"], "subject").render(context) if email else ""
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


def _audit(secure: SecureMessage, action: str, summary: str, actor=None) -> None:
    record(action, summary, actor=actor, client_id=secure.client_id,
           appointment_id=secure.appointment_id, message_id=secure.message_id,
           data={"secure_message_id": secure.id})


def lifetime_default() -> int:
    """The default link lifetime in hours (for the compose form)."""
    return int(config()["lifetime_hours"])


def enabled() -> bool:
    """True when admins turned secure messaging on."""
    return bool(config()["enabled"])


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
