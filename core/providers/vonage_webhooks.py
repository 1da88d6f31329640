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

import jwt
from flask import current_app
from jwt.warnings import InsecureKeyLengthWarning

from core import settings
from core.messaging import multipart
from core.messaging.inbound import accept_inbound
from core.messaging.models import Channel
from core.providers.vonage import PROVIDER_NAME
from core.providers.vonage_events import (  # noqa: F401  (the routes read receipts through here)
    WebhookRefused,
    apply,
    iso_time,
    messages_receipt,
    required,
    sms_receipt,
    sms_time,
    voice_receipt,
)
from core.providers.vonage_media import enqueue_fetch

log = logging.getLogger(__name__)

METHODS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
           "sha512": hashlib.sha512}
SIGNATURE_METHODS = ("md5hash", *METHODS)
MAX_AGE = 24 * 3600  # Vonage retries for a while; replays are harmless (stored once)
FUTURE_SKEW = 300
SETTINGS_TTL = 10  # seconds one read of the signature settings serves a process's webhooks
SETTINGS_CACHE = "tidings.vonage_webhook_settings"

# A callback without any signature while signing is on: Vonage documents that after an internal
# error its callback service may send one unsigned, and that a 5xx answer makes it retry
# (signed, once the error is resolved). So it gets 503, not 403, and changes nothing.
UNSIGNED_STATUS = 503
UNSIGNED_REASON = "unsigned callback: answered 503 so that Vonage retries it signed"


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
    """Raise WebhookRefused(403) unless `sig` is right and its timestamp is recent (503 when
    there is no `sig` at all, so that Vonage retries)."""
    signature = str(params.get("sig") or "")
    if not signature:
        raise _unsigned()
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
    """The claims of a valid webhook JWT; WebhookRefused(403) when it is forged, expired, or
    does not match the body (503 when there is none, so that Vonage retries)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unsigned()
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


def _unsigned() -> WebhookRefused:
    log.warning("Vonage callback without a signature: answered %d for a retry", UNSIGNED_STATUS)
    return WebhookRefused(UNSIGNED_STATUS, UNSIGNED_REASON)


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


# ---- inbound messages --------------------------------------------------------------------


def sms_inbound(params: dict) -> bool:
    """Store an inbound text of the SMS API (parts of a long text wait for each other)."""
    message_id, sender, to = required(params, "messageId", "msisdn", "to")
    if str(params.get("type", "text")).lower() == "binary":
        return False
    text = str(params.get("text") or "")
    at = sms_time(params.get("message-timestamp"))
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
    message_id, sender, to = required(payload, "message_uuid", "from", "to")
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
        body=body, channel=channel, received_at=iso_time(payload.get("timestamp")), raw=payload)
    if created and media:
        enqueue_fetch(message.id, media)
    return created


def _accept(message_id, sender, to, body, channel, at, raw) -> bool:
    _, created = accept_inbound(provider=PROVIDER_NAME, provider_id=message_id[:80],
                                from_addr=sender, to_addr=to, body=body, channel=channel,
                                received_at=at, raw=raw)
    return created
