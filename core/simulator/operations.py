"""The simulator's inbound webhook: Vonage's signed-webhook scheme, and replies typed on a phone.

A reply on the Simulator page is signed exactly as a provider would sign it and goes through
`handle_webhook`, the same function the public webhook route calls.
"""

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from core.extensions import db
from core.messaging import attachments as files
from core.messaging.inbound import accept_inbound
from core.messaging.models import Channel, Message
from core.messaging.transitions import write_events
from core.simulator.models import SimMessage
from core.types import utcnow

PROVIDER = "simulator"
REQUIRED = ("msisdn", "to", "messageId")
INBOUND_CHANNELS = {Channel.SMS, Channel.MMS, Channel.EMAIL}
FUTURE_SKEW = 300  # seconds a signing clock may run ahead of ours
# What a client may attach on a simulated phone: what the copy of a Vonage MMS keeps.
MEDIA_KINDS = {"image/jpeg": files.IMAGE, "image/png": files.IMAGE, "image/gif": files.IMAGE,
               "application/pdf": files.FILE, "text/plain": files.FILE}
MAX_MEDIA = 5 * files.MB
MEDIA_EVENT = "media"  # the MessageEvent code the Vonage media copy writes for each file


class WebhookError(Exception):
    """A webhook refused: `status` is the HTTP answer (400 malformed, 403 not signed by us)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def webhook_secret() -> str:
    """The simulator's signature secret, derived from SECRET_KEY so there is nothing to set."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"simulator-webhook", hashlib.sha256).hexdigest()


def sign_params(params: Mapping[str, object], secret: str) -> str:
    """Vonage's signature: HMAC-SHA256 over '&key=value' of the sorted params, without sig."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for key in sorted(params):
        if key == "sig":
            continue
        # Vonage replaces '&' and '=' in values so the joined string stays unambiguous.
        value = str(params[key]).replace("&", "_").replace("=", "_")
        mac.update(f"&{key}={value}".encode())
    return mac.hexdigest()


def verify_params(params: Mapping[str, object], secret: str) -> bool:
    """True when params carry a `sig` that matches their signature under `secret`."""
    signature = str(params.get("sig") or "").lower()
    return bool(signature) and hmac.compare_digest(signature, sign_params(params, secret))


def signed(params: Mapping[str, object], secret: str) -> dict[str, str]:
    """The params with a timestamp, a nonce and their signature, ready to post."""
    payload = {key: str(value) for key, value in params.items()}
    payload.setdefault("timestamp", str(int(time.time())))
    payload.setdefault("nonce", secrets.token_hex(8))
    payload["sig"] = sign_params(payload, secret)
    return payload


def handle_webhook(params: Mapping[str, object], secret: str) -> tuple[Message, bool]:
    """Check a posted inbound payload and store its message once; raises WebhookError."""
    params = {str(key): str(value) for key, value in params.items()}
    missing = [name for name in REQUIRED if not params.get(name)]
    if missing:
        raise WebhookError(400, "missing " + ", ".join(missing))
    if not verify_params(params, secret) or not _fresh(params.get("timestamp", "")):
        raise WebhookError(403, "bad signature")
    channel = params.get("channel") or (Channel.EMAIL if "@" in params["msisdn"] else Channel.SMS)
    if channel not in INBOUND_CHANNELS or len(params["messageId"]) > 80:
        raise WebhookError(400, "bad channel or messageId")
    return accept_inbound(
        provider=PROVIDER, provider_id=params["messageId"], from_addr=params["msisdn"],
        to_addr=params["to"], body=params.get("text", ""), channel=channel,
        subject=params.get("subject", ""), received_at=_received_at(params), raw=params,
    )


def check_attachment(upload: files.Upload) -> files.Checked:
    """A picture or file a client could send from a phone (MMS) or a mailbox: the types and
    size the Vonage MMS copy keeps, recognised by content; AttachmentError says what is wrong."""
    name = upload.filename or "The file"
    if not upload.data:
        raise files.AttachmentError(f"“{name}” is empty.")
    content_type = files.sniff(upload.data)
    if content_type not in MEDIA_KINDS:
        raise files.AttachmentError(f"“{name}” is not a JPEG, PNG or GIF picture, a PDF or a "
                                    "plain-text file (checked by its content, not its name).")
    if len(upload.data) > MAX_MEDIA:
        raise files.AttachmentError(f"“{name}” is larger than {MAX_MEDIA // files.MB} MB, the "
                                    "most a picture message may carry.")
    return files.Checked(MEDIA_KINDS[content_type], name[:200], content_type, upload.data)


def send_reply(address: str, text: str, subject: str = "",
               attachment: files.Checked | None = None) -> Message:
    """Reply from a simulated phone or mailbox: post a signed payload through handle_webhook.

    With an attachment a phone sends a picture message (MMS): the file lands in the attachment
    store with the inbound message, as the copy of a Vonage MMS's media does."""
    channel = Channel.EMAIL if "@" in address else Channel.SMS
    if attachment is not None and channel == Channel.SMS:
        channel = Channel.MMS
    message_id = uuid.uuid4().hex
    params = {
        "msisdn": address if channel == Channel.EMAIL else address.lstrip("+"),
        "to": _business_address(address).lstrip("+"),
        "messageId": message_id,
        "text": text,
        "type": "text",
        "keyword": (text.split() or [""])[0].upper()[:40],
        "message-timestamp": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
    }
    if channel == Channel.EMAIL:
        params.update(channel=channel, subject=subject)
    elif channel == Channel.MMS:
        params.update(channel=channel, type=attachment.kind)
    secret = webhook_secret()
    message, _ = handle_webhook(signed(params, secret), secret)
    shown = _keep(message, attachment) if attachment is not None else []
    db.session.add(SimMessage(
        address=address, channel=channel, incoming=False, subject=subject, body=text,
        provider_id=message_id, client_ref=str(message.id), media=shown,
        media_url=(shown[0] if shown else ""),
    ))
    db.session.commit()
    return message


def _keep(message: Message, attachment: files.Checked) -> list[str]:
    """Store the file with the inbound message (and its "media" event, like a Vonage copy);
    returns the link the simulated phone shows its own picture by."""
    [row] = files.store(None, [attachment], message_id=message.id)
    db.session.flush()
    write_events([{"message_id": message.id, "status": message.status, "code": MEDIA_EVENT,
                   "detail": f"{row.filename} kept ({row.content_type}, {row.size:,} bytes)"}])
    return [f"/media/{files.token_for(row.id)}"]


def _fresh(timestamp: str) -> bool:
    """A signing time neither older than SIMULATOR_WEBHOOK_MAX_AGE nor far in the future."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    age = time.time() - signed_at
    return -FUTURE_SKEW <= age <= current_app.config.get("SIMULATOR_WEBHOOK_MAX_AGE", 86400)


def _received_at(params: Mapping[str, str]) -> datetime | None:
    """Vonage's message-timestamp ('2024-01-31 09:30:00', UTC), or None when absent or odd."""
    try:
        at = datetime.strptime(params.get("message-timestamp", ""), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    at = at.replace(tzinfo=UTC)
    return at if at <= utcnow() else None


def _business_address(address: str) -> str:
    """Whom the phone answers: the sender of its latest message, else the business's name."""
    query = (
        select(SimMessage.sender)
        .where(SimMessage.address == address, SimMessage.incoming.is_(True),
               SimMessage.sender != "")
        .order_by(SimMessage.id.desc())
        .limit(1)
    )
    return db.session.scalar(query) or current_app.config.get("SMS_FROM") or "Tidings"
