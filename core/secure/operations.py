"""Secure messages: settings, tokens and PINs, and sending (content sealed, notices with links).

The link's token (secrets.token_urlsafe(32), 256 bits) is shown once, in the notice; only its
SHA-256 is stored. Content and files are encrypted with the settings' Fernet keys
(TIDINGS_ENCRYPTION_KEY; rotation: `flask --app app secure rotate-key`, see README). What a
visitor does is in core.secure.portal; expiry, purge and staff actions in core.secure.lifecycle.
"""

import hashlib
import json
import logging
import re
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from core import settings
from core.audit.operations import record
from core.extensions import db
from core.messaging.models import (
    Broadcast,
    Channel,
    Direction,
    Message,
    Setting,
)
from core.secure.models import SecureFile, SecureMessage
from core.types import utcnow

log = logging.getLogger(__name__)

MAX_PIN_FAILURES = 5
CHANNELS = (Channel.SMS, Channel.EMAIL)
SETTINGS_KEY = "secure_messaging"
LINK_MARK = "\x00LINK\x00"  # stands for {{ link }} while the sandboxed engine renders
LINK_FIELD = re.compile(r"\{\{\s*link\s*\}\}")
PIN_RE = re.compile(r"\d{4,8}")
# Stands for the token in a stored notice (same length and alphabet as a real one, so segment
# counts hold); delivery swaps in a token minted at that moment, so no table ever holds one.
SLOT = "link-token-sent-to-the-recipient-only".ljust(43, "-")
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
        compile_notice(values[key], key.replace("_", " "))
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


def compile_notice(source: str, what: str):
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


def dead_hash() -> str:
    """A unique token hash that no link opens (until the notice's send mints the real one)."""
    return "x" + new_token()[1][1:]


def mint_link(due) -> tuple[str, str]:
    """The subject and body of a notice as it leaves (`due` from delivery): a fresh token in
    place of the slot, its hash stored, the token itself kept nowhere. Commits."""
    if SLOT not in due.body and SLOT not in due.subject:
        return due.subject, due.body
    secure = db.session.scalar(select(SecureMessage).where(
        SecureMessage.message_id == due.id).limit(1)) or _unlinked_secure(due)
    if secure is None:
        return due.subject, due.body
    token, secure.token_hash = new_token()
    secure.message_id = due.id
    db.session.commit()
    return due.subject.replace(SLOT, token), due.body.replace(SLOT, token)


def _unlinked_secure(due) -> SecureMessage | None:
    """The secure message a freshly fanned-out notice belongs to."""
    query = select(SecureMessage).where(SecureMessage.broadcast_id == due.broadcast_id,
                                        SecureMessage.to_addr == due.to_addr,
                                        SecureMessage.message_id.is_(None))
    for column, value in ((SecureMessage.client_id, due.client_id),
                          (SecureMessage.appointment_id, due.appointment_id)):
        query = query.where(column.is_(None) if value is None else column == value)
    return db.session.scalar(query.limit(1))


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of a PIN."""
    return generate_password_hash(pin, method="scrypt")


def pin_matches(pin_hash: str, pin: str) -> bool:
    """Compare a typed PIN with its hash (werkzeug compares with hmac.compare_digest)."""
    return bool(pin) and check_password_hash(pin_hash, pin)


TOKEN_IN_TEXT = re.compile(r"(/s/)[A-Za-z0-9_-]{20,}")
MASK = "•" * 10


def mask_links(text: str) -> str:
    """`text` with the token of every secure link replaced by a mask, so the link opens nothing."""
    return TOKEN_IN_TEXT.sub(lambda match: match.group(1) + MASK, text or "")


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


def check_request(channel, pin: str, lifetime_hours, require_pin: bool | None = None) -> dict:
    """The secure options of a compose request, validated; raises SecureError.

    `require_pin` is the sender's choice (compose ticks it when the settings require a PIN by
    default); None means "as the settings say"."""
    cfg = config()
    if not cfg["enabled"]:
        raise SecureError("Secure messaging is turned off (Settings → Secure messages).")
    if Channel(channel) not in CHANNELS:
        raise SecureError("Only a text (SMS) or an email can be sent securely.")
    pin = (pin or "").strip()
    if pin and not PIN_RE.fullmatch(pin):
        raise SecureError("The PIN must be 4 to 8 digits.")
    if (cfg["pin_required"] if require_pin is None else require_pin) and not pin:
        raise SecureError("Set a PIN of 4 to 8 digits (give it to the client by another way "
                          "than the message), or untick \"Ask for a PIN\".")
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


def secure_plan(broadcast: Broadcast):
    """The fan-out plan of a secure broadcast: one SecureMessage per recipient, and a notice
    with that recipient's link as the message text (the content never enters a Message)."""
    from core.messaging.recipients import SKIP_TOO_LONG, plan

    opts = broadcast.options["secure"]
    clear = json.loads(settings.decrypt(opts["content"]))
    expires_at = _expiry(broadcast, opts)
    content_draft = Broadcast(channel=broadcast.channel, subject=clear["subject"],
                              body=clear["body"], recipients=broadcast.recipients,
                              send_at=broadcast.send_at, options=broadcast.options)
    existing = _existing_keys(broadcast.id)
    notices = zip(plan(_notice_draft(broadcast, Channel(broadcast.channel))),
                  plan(_notice_draft(broadcast, Channel.EMAIL)), strict=True)
    for content, (notice, email_notice) in zip(plan(content_draft), notices, strict=True):
        if content.channel == Channel.EMAIL:  # a client who prefers email gets the email notice
            notice = email_notice
        key = (content.client_id, content.appointment_id, content.to_addr)
        # The content is read in the portal, so only the notice must fit in a text.
        reason = notice.skip_reason if content.skip_reason == SKIP_TOO_LONG else (
            content.skip_reason)
        content = replace(content, skip_reason=reason)
        if content.skip_reason or key in existing:
            yield replace(content, subject="", body="")  # fan-out skips or records it bare
            continue
        db.session.add(SecureMessage(
            broadcast_id=broadcast.id, client_id=content.client_id,
            appointment_id=content.appointment_id, channel=content.channel,
            to_addr=content.to_addr, token_hash=dead_hash(), pin_hash=opts.get("pin_hash"),
            content=settings.encrypt(json.dumps({"subject": content.subject,
                                                 "body": content.body})),
            expires_at=expires_at))
        link = link_url(SLOT)  # the real token is minted as the notice goes out
        yield replace(content, subject=notice.subject.replace(LINK_MARK, link),
                      body=notice.body.replace(LINK_MARK, link))


def _notice_draft(broadcast: Broadcast, channel: Channel) -> Broadcast:
    """The notice of a secure send as a draft to plan: the email or the text notice."""
    cfg = config()
    email = channel == Channel.EMAIL
    return Broadcast(
        channel=channel.value, subject=LINK_FIELD.sub(LINK_MARK, cfg["email_subject"]),
        body=LINK_FIELD.sub(LINK_MARK, cfg["email_body" if email else "sms_body"]),
        recipients=broadcast.recipients, send_at=broadcast.send_at, options=broadcast.options)


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


def audit_event(secure: SecureMessage, action: str, summary: str, actor=None) -> None:
    """One audit event on the history of the secure message's client and appointment."""
    record(action, summary, actor=actor, client_id=secure.client_id,
           appointment_id=secure.appointment_id, message_id=secure.message_id,
           data={"secure_message_id": secure.id})


def lifetime_default() -> int:
    """The default link lifetime in hours (for the compose form)."""
    return int(config()["lifetime_hours"])


def enabled() -> bool:
    """True when admins turned secure messaging on."""
    return bool(config()["enabled"])


def pin_required_by_default() -> bool:
    """Whether compose starts with "Require a PIN" ticked."""
    return bool(config()["pin_required"])
