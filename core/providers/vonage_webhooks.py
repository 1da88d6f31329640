"""Vonage webhooks: verify who sent them, then hand receipts and replies to the pipeline.

SMS API webhooks (delivery receipts, inbound texts) are "signed webhooks": a `sig` parameter,
computed over the other parameters sorted by name as "&name=value" (with '&' and '=' in values
replaced by '_'), either MD5 over that string plus the signature secret ("MD5 hash", Vonage's
default) or an HMAC (MD5, SHA-1, SHA-256, SHA-512) keyed by the secret. Messages API and Voice
API webhooks carry a JWT (HS256, signed with the same secret) in the Authorization header;
its `payload_hash` claim is the SHA-256 of the body.

Both receipts and replies are stored before answering (apply_receipt / accept_inbound are
idempotent on the provider's id), so a replayed webhook changes nothing.
"""

import hashlib
import hmac
import logging
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import jwt
from flask import current_app
from jwt.warnings import InsecureKeyLengthWarning

from core import settings
from core.messaging import multipart
from core.messaging.inbound import accept_inbound
from core.messaging.models import Channel, Status
from core.providers.vonage import PROVIDER_NAME
from core.providers.vonage_errors import messages_error, receipt_error
from core.providers.vonage_media import enqueue_fetch

log = logging.getLogger(__name__)

METHODS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
           "sha512": hashlib.sha512}
SIGNATURE_METHODS = ("md5hash", *METHODS)
MAX_AGE = 24 * 3600  # Vonage retries for a while; replays are harmless (stored once)
FUTURE_SKEW = 300
SETTINGS_TTL = 10  # seconds one read of the signature settings serves a process's webhooks
SETTINGS_CACHE = "tidings.vonage_webhook_settings"

SMS_STATUS = {
    "delivered": Status.DELIVERED, "expired": Status.EXPIRED, "failed": Status.FAILED,
    "rejected": Status.FAILED, "accepted": Status.SENT, "buffered": Status.SENT,
    "unknown": Status.SENT,
}
MESSAGES_STATUS = {
    "submitted": Status.SENT, "delivered": Status.DELIVERED, "read": Status.DELIVERED,
    "rejected": Status.FAILED, "undeliverable": Status.FAILED,
}
VOICE_STATUS = {
    "started": (Status.SENT, "Call placed"), "ringing": (Status.SENT, "Ringing"),
    "answered": (Status.DELIVERED, "Call answered"),
    "completed": (Status.DELIVERED, "Call completed"),
    "busy": (Status.FAILED, "The line was busy"),
    "cancelled": (Status.FAILED, "Call cancelled"),
    "failed": (Status.FAILED, "Call failed"), "rejected": (Status.FAILED, "Call rejected"),
    "timeout": (Status.FAILED, "Nobody answered"), "unanswered": (Status.FAILED, "Nobody answered"),
}
# Answering-machine detection (Voice API webhook reference: "human / machine" events carry
# `call_uuid`, not `uuid`): the call was answered, and this says by whom.
ANSWERED_BY = {"human": "Answered by a person", "machine": "Answered by voicemail"}


class WebhookRefused(Exception):
    """A webhook we will not act on: `status` is the HTTP answer, `reason` says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# ---- signatures -------------------------------------------------------------------------


def sms_signature(params: dict, secret: str, method: str = "md5hash") -> str:
    """The `sig` Vonage computes for these parameters (the sig itself is left out)."""
    text = "".join(
        "&{}={}".format(key, str(params[key]).replace("&", "_").replace("=", "_"))
        for key in sorted(params) if key != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((text + secret).encode()).hexdigest()
    if method not in METHODS:
        raise ValueError(f"unknown signature method {method!r}")
    return hmac.new(secret.encode(), text.encode(), METHODS[method]).hexdigest()


def check_sms_signature(params: dict, secret: str, method: str = "md5hash", *,
                        now: float | None = None, max_age: int = MAX_AGE) -> None:
    """Raise WebhookRefused(403) unless `sig` is right and its timestamp is recent."""
    signature = str(params.get("sig") or "")
    if not signature:
        raise WebhookRefused(403, "missing signature")
    try:
        signed_at = int(str(params.get("timestamp")))
    except ValueError:
        raise WebhookRefused(403, "missing timestamp") from None
    now = time.time() if now is None else now
    if signed_at < now - max_age or signed_at > now + FUTURE_SKEW:
        raise WebhookRefused(403, "signature expired")
    expected = sms_signature(params, secret, method)
    if not hmac.compare_digest(expected.lower(), signature.lower()):
        raise WebhookRefused(403, "bad signature")


def check_jwt(authorization: str | None, body: bytes, secret: str, *, api_key: str = "",
              max_age: int = MAX_AGE) -> dict:
    """The claims of a valid webhook JWT; WebhookRefused(403) when it is missing, forged,
    expired, or does not match the body."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WebhookRefused(403, "missing signature")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the secret is Vonage's
            claims = jwt.decode(token.strip(), secret, algorithms=["HS256"], leeway=60,
                                options={"require": ["iat"]})
    except jwt.ExpiredSignatureError:
        raise WebhookRefused(403, "signature expired") from None
    except jwt.InvalidTokenError:
        raise WebhookRefused(403, "bad signature") from None
    issued = claims["iat"]
    if not isinstance(issued, int | float) or issued < time.time() - max_age:
        raise WebhookRefused(403, "signature expired")
    claimed = str(claims.get("payload_hash") or "")
    if not hmac.compare_digest(claimed.lower(), hashlib.sha256(body).hexdigest()):
        raise WebhookRefused(403, "body does not match its signature")
    if api_key and claims.get("api_key") and claims["api_key"] != api_key:
        raise WebhookRefused(403, "signed for another Vonage account")
    return claims


def _secret() -> tuple[str, str, str]:
    """(signature secret, method, api key); 503 while no secret is set, so Vonage retries."""
    values = _signature_settings()
    if not values["vonage_signature_secret"]:
        log.warning("Vonage webhook refused: no signature secret is configured")
        raise WebhookRefused(503, "webhooks are not configured: set the signature secret")
    return (values["vonage_signature_secret"], values["vonage_signature_method"],
            values["vonage_api_key"])


def _signature_settings() -> dict:
    """The signature settings, read and decrypted at most once per SETTINGS_TTL in a process
    (at 200 webhooks a second, each would cost a query and a Fernet decryption); a changed
    secret applies within SETTINGS_TTL. A missing secret is not kept: once set, it applies."""
    cache = current_app.extensions.setdefault(SETTINGS_CACHE, {})
    now = time.monotonic()
    if cache.get("until", 0.0) < now:
        values = settings.snapshot(
            ["vonage_signature_secret", "vonage_signature_method", "vonage_api_key"])
        if not values["vonage_signature_secret"]:
            return values
        cache.update(values=values, until=now + SETTINGS_TTL)
    return cache["values"]


def verify_params(params: dict) -> None:
    """Check a signed SMS API webhook against the configured secret."""
    secret, method, _ = _secret()
    check_sms_signature(params, secret, method if method in SIGNATURE_METHODS else "md5hash")


def verify_jwt_request(authorization: str | None, body: bytes) -> dict:
    """Check a Messages or Voice API webhook against the configured secret."""
    secret, _, api_key = _secret()
    return check_jwt(authorization, body, secret, api_key=api_key)


# ---- what the webhooks carry -------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """One status report about a message we sent."""

    provider_id: str
    status: str
    code: str = ""
    detail: str = ""
    at: datetime | None = None
    client_ref: str = ""  # our message id, for a send whose outcome was unknown
    cost: Decimal | None = None  # what Vonage charged
    outcome: str = ""  # how it was received, kept even when the status does not change
    note: str = ""  # raw detail for the message's history only
    opted_out: bool = False  # the recipient asked not to receive messages from this service


def _required(data: dict, *names: str) -> list[str]:
    values = [str(data.get(name) or "").strip() for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise WebhookRefused(400, "missing " + ", ".join(missing))
    return values


def _time(text: str | None, *formats: str) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(str(text), fmt).replace(tzinfo=UTC)
        except (TypeError, ValueError):
            continue
    return None


def _iso(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _sms_time(text: str | None) -> datetime | None:
    """`message-timestamp` of the SMS API: "2020-01-01 12:00:00" (UTC) in a form or query
    string, ISO 8601 in a JSON body."""
    return (_time(text, "%Y-%m-%d %H:%M:%S") or _iso(text)
            or _aware(text, "%Y-%m-%d %H:%M:%S %z"))


def _aware(text: str | None, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(str(text), fmt).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _price(value) -> Decimal | None:
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price >= 0 else None


def sms_receipt(params: dict) -> Receipt | None:
    """A delivery receipt of the SMS API (None for a status we do not track).

    Its time is `message-timestamp` (UTC, when Vonage got the network's report); `scts` is
    the network's own timestamp, of no stated zone, so it is only kept as written."""
    (provider_id, state) = _required(params, "messageId", "status")
    status = SMS_STATUS.get(state.lower())
    if status is None:
        return None
    code = str(params.get("err-code") or "")
    error = receipt_error(code)
    if code in ("", "0"):
        detail = state
    else:
        detail = f"{error.reason if error else 'Error'} ({state}, code {code})"
    scts = str(params.get("scts") or "")
    return Receipt(provider_id, status, code, detail, _sms_time(params.get("message-timestamp")),
                   str(params.get("client-ref") or ""), cost=_price(params.get("price")),
                   note=f"network time scts={scts}" if scts else "",
                   opted_out=bool(error and error.opt_out and status == Status.FAILED))


def messages_receipt(payload: dict) -> Receipt | None:
    """A status webhook of the Messages API (MMS, or SMS sent through it)."""
    provider_id, state = _required(payload, "message_uuid", "status")
    status = MESSAGES_STATUS.get(state.lower())
    if status is None:
        return None
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    code, known = messages_error(error) if error else ("", None)
    detail = str((known.reason if known else "") or error.get("detail") or state)
    if error.get("detail") and known and error["detail"] != known.reason:
        detail = f"{detail}: {error['detail']}"
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return Receipt(provider_id, status, code, detail[:500], _iso(payload.get("timestamp")),
                   str(payload.get("client_ref") or ""), cost=_price(usage.get("price")),
                   opted_out=bool(known and known.opt_out and status == Status.FAILED))


def voice_receipt(payload: dict) -> Receipt | None:
    """A call event of the Voice API that tells how the call went."""
    state = str(payload.get("status") or "").lower()
    if not state:
        return None  # input, recording and transfer events carry no call status
    if state in ANSWERED_BY:
        (provider_id,) = _required({"uuid": payload.get("call_uuid") or payload.get("uuid")},
                                   "uuid")
        return Receipt(provider_id, Status.DELIVERED, state, ANSWERED_BY[state],
                       _iso(payload.get("timestamp")), outcome=ANSWERED_BY[state])
    (provider_id,) = _required(payload, "uuid")
    mapped = VOICE_STATUS.get(state)
    if mapped is None:
        return None
    status, detail = mapped
    why = str(payload.get("detail") or "").replace("_", " ").strip()
    if why and status == Status.FAILED:
        detail = f"{detail}: {why}"
    note = ""
    if state == "completed" and payload.get("duration") not in (None, ""):
        note = f"{payload.get('duration')} s at {payload.get('rate') or '?'} a minute"
    return Receipt(provider_id, status, state, detail, _iso(payload.get("timestamp")),
                   cost=_price(payload.get("price")) if state == "completed" else None,
                   note=note)


def apply(receipt: Receipt | None) -> bool:
    """Hand a receipt to the delivery pipeline (which commits); False for no message of ours."""
    if receipt is None:
        return False
    from core.messaging.receipts import apply_receipt

    return apply_receipt(provider=PROVIDER_NAME, provider_id=receipt.provider_id[:80],
                         status=str(receipt.status), code=receipt.code, detail=receipt.detail,
                         at=receipt.at, client_ref=receipt.client_ref or None,
                         cost=receipt.cost, outcome=receipt.outcome, note=receipt.note,
                         opted_out=receipt.opted_out)


def sms_inbound(params: dict) -> bool:
    """Store an inbound text of the SMS API (parts of a long text wait for each other)."""
    message_id, sender, to = _required(params, "messageId", "msisdn", "to")
    if str(params.get("type", "text")).lower() == "binary":
        return False
    text = str(params.get("text") or "")
    at = _sms_time(params.get("message-timestamp"))
    part = _concat(params) if str(params.get("concat", "")).lower() == "true" else None
    if part is not None:  # else a malformed part: kept as a message of its own
        return multipart.accept_part(provider=PROVIDER_NAME, provider_id=message_id[:80],
                                     sender=sender, recipient=to, body=text, received_at=at,
                                     raw=params, **part)
    return _accept(message_id, sender, to, text, Channel.SMS, at, params)


def _concat(params: dict) -> dict | None:
    """ref, total and part of one part of a long text, or None when they make no sense."""
    try:
        ref = str(params["concat-ref"]).strip()[:40]
        total, part = int(params["concat-total"]), int(params["concat-part"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (ref and multipart.is_part(total, part)):
        return None
    return {"ref": ref, "total": total, "part": part}


def messages_inbound(payload: dict) -> bool:
    """Store an inbound SMS or MMS of the Messages API; its pictures and files are copied into
    the attachment store by a job (the links stay in the text until then, and after)."""
    message_id, sender, to = _required(payload, "message_uuid", "from", "to")
    channel = Channel.MMS if payload.get("channel") == "mms" else Channel.SMS
    lines, media = [str(payload.get("text") or "")], []
    for kind in ("image", "video", "audio", "file", "vcard"):
        item = payload.get(kind)
        if isinstance(item, dict) and item.get("url"):
            lines[0] = lines[0] or str(item.get("caption") or "")
            lines.append(f"[{kind}] {item['url']}")
            media.append((kind, str(item["url"])))
    body = "\n".join(line for line in lines if line)
    message, created = accept_inbound(
        provider=PROVIDER_NAME, provider_id=message_id[:80], from_addr=sender, to_addr=to,
        body=body, channel=channel, received_at=_iso(payload.get("timestamp")), raw=payload)
    if created and media:
        enqueue_fetch(message.id, media)
    return created


def _accept(message_id, sender, to, body, channel, at, raw) -> bool:
    _, created = accept_inbound(provider=PROVIDER_NAME, provider_id=message_id[:80],
                                from_addr=sender, to_addr=to, body=body, channel=channel,
                                received_at=at, raw=raw)
    return created
