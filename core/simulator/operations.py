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
from core.messaging.inbound import accept_inbound
from core.messaging.models import Channel, Message
from core.simulator.models import SimMessage
from core.types import utcnow

PROVIDER = "simulator"
REQUIRED = ("msisdn", "to", "messageId")
INBOUND_CHANNELS = {Channel.SMS, Channel.MMS, Channel.EMAIL}
FUTURE_SKEW = 300  # seconds a signing clock may run ahead of ours


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


def send_reply(address: str, text: str, subject: str = "") -> Message:
    """Reply from a simulated phone or mailbox: post a signed payload through handle_webhook."""
    channel = Channel.EMAIL if "@" in address else Channel.SMS
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
    secret = webhook_secret()
    message, _ = handle_webhook(signed(params, secret), secret)
    db.session.add(SimMessage(
        address=address, channel=channel, incoming=False, subject=subject, body=text,
        provider_id=message_id, client_ref=str(message.id),
    ))
    db.session.commit()
    return message


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
