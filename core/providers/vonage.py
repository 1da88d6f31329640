"""Vonage providers: SMS (SMS API), MMS (Messages API) and voice calls (Voice API).

Each provider instance owns one SDK HTTP client: never share an instance across threads.
The client is built so a send is attempted exactly once (no urllib3 retries, and a pool of
one so the SDK's own "RemoteDisconnected" loop does not re-POST): the delivery pipeline
decides about retries, and a send that may have reached Vonage is reported as
UnknownOutcomeError so it is reconciled from its receipt instead of being sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.metadata import version
from types import SimpleNamespace
from typing import TYPE_CHECKING

import requests
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from urllib3 import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

from core.messaging import segments
from core.providers import vonage_wire
from core.providers.base import (
    Outgoing,
    PermanentError,
    ProviderError,
    SendResult,
    TransientError,
    UnknownOutcomeError,
)
from core.providers.vonage_wire import SmsWire, short

if TYPE_CHECKING:
    from vonage_http_client import Auth, HttpClient, HttpClientOptions
    from vonage_sms import SmsMessage
    from vonage_voice.models import CreateCallRequest


@cache
def sdk_version() -> str:
    """The installed SDK's version, for the User-Agent (without importing the SDK)."""
    return version("vonage")


@cache
def sdk() -> SimpleNamespace:
    """The SDK's pieces, imported on first use: a worker that sends only texts (by the lean
    wire) never loads its pydantic models, and the idle worker stays small."""
    from vonage_http_client import Auth, HttpClient, HttpClientOptions
    from vonage_http_client.errors import HttpRequestError, RateLimitedError
    from vonage_messages import Messages
    from vonage_messages import models as mms
    from vonage_sms import Sms, SmsMessage
    from vonage_sms.errors import PartialFailureError, SmsError
    from vonage_utils.errors import VonageError
    from vonage_voice import Voice
    from vonage_voice import models as voice

    return SimpleNamespace(
        Auth=Auth, HttpClient=HttpClient, HttpClientOptions=HttpClientOptions,
        HttpRequestError=HttpRequestError, RateLimitedError=RateLimitedError,
        Messages=Messages, MmsContent=mms.MmsContent,
        MmsContentItemImage=mms.MmsContentItemImage, MmsImage=mms.MmsImage,
        MmsResource=mms.MmsResource, MmsText=mms.MmsText, Sms=Sms, SmsMessage=SmsMessage,
        PartialFailureError=PartialFailureError, SmsError=SmsError, VonageError=VonageError,
        Voice=Voice, CreateCallRequest=voice.CreateCallRequest, Phone=voice.Phone,
        Stream=voice.Stream, Talk=voice.Talk, ToPhone=voice.ToPhone)


UNREADABLE = ("Vonage answered with something we could not read; the message may have been "
              "sent — waiting for its receipt.")

# The SDK logs request headers and form data (credentials included) at DEBUG: never let it.
logging.getLogger("vonage").setLevel(logging.INFO)
log = logging.getLogger(__name__)

PROVIDER_NAME = "vonage"
SMS_RECEIPT_PATH = "/webhooks/vonage/sms/receipt"
SMS_INBOUND_PATH = "/webhooks/vonage/sms/inbound"
MESSAGES_STATUS_PATH = "/webhooks/vonage/messages/status"
MESSAGES_INBOUND_PATH = "/webhooks/vonage/messages/inbound"
VOICE_EVENT_PATH = "/webhooks/vonage/voice/event"

# SMS API send statuses worth retrying: throttled, internal error, too many binds.
SMS_TRANSIENT = {"1", "5", "10"}
TALK_LIMIT = 1500  # characters per NCCO talk action


@dataclass(frozen=True)
class VonageConfig:
    """Everything the Vonage providers need, read once from the settings."""

    api_key: str = ""
    api_secret: str = ""
    application_id: str = ""
    private_key: str = ""
    sender: str = ""  # E.164 number or alphanumeric sender id
    voice_from: str = ""  # E.164 caller id for calls (falls back to a numeric sender)
    public_url: str = ""  # https://tidings.example.com, for per-message webhook URLs
    api_host: str = "api.nexmo.com"
    rest_host: str = "rest.nexmo.com"
    timeout: int = 10
    voice_language: str = "en-US"

    @property
    def has_key(self) -> bool:
        return bool(self.api_key and self.api_secret)

    @property
    def has_application(self) -> bool:
        return bool(self.application_id and self.private_key)

    def webhook(self, path: str) -> str | None:
        """The public URL of one of our webhooks, when the public address is known."""
        return self.public_url.rstrip("/") + path if self.public_url else None


def pkcs8_pem(pem: str) -> str:
    """An RSA private key as unencrypted PKCS#8 PEM (what the Vonage JWT client accepts)."""
    key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def digits(number: str) -> str:
    """E.164 without the plus, as Vonage wants numbers."""
    return number.strip().lstrip("+")


def sender_field(sender: str) -> str:
    """A sender for the SMS API: a number without '+', or the alphanumeric id as typed."""
    return digits(sender) if sender.startswith("+") else sender


class _VonageProvider:
    """Shared client construction and error translation."""

    name = PROVIDER_NAME

    def __init__(self, config: VonageConfig):
        self.config = config
        self._client: HttpClient | None = None
        # Called right before each request goes on the wire (the pipeline's rate limiter
        # admits the call there, so nothing the SDK does first can bunch calls up).
        self.before_wire: Callable[[], object] | None = None

    def _http(self) -> HttpClient:
        if self._client is None:
            self._client = sdk().HttpClient(self._auth(), self._options(), sdk_version())
            _environment_once(self._client, self.config.rest_host)
            _gate_requests(self._client, self)
        return self._client

    def _auth(self) -> Auth:
        c = self.config
        kwargs = {}
        if c.has_key:
            kwargs.update(api_key=c.api_key, api_secret=c.api_secret)
        if c.has_application:
            try:
                kwargs.update(application_id=c.application_id, private_key=pkcs8_pem(c.private_key))
            except (ValueError, TypeError):
                raise PermanentError("The Vonage private key cannot be read; upload it again "
                                     "on the Settings page.", "config") from None
        try:
            return sdk().Auth(**kwargs)
        except (sdk().VonageError, ValueError) as exc:
            reason = f"The Vonage credentials are incomplete: {exc}"
            raise PermanentError(reason, "config") from None

    def _options(self) -> HttpClientOptions:
        return sdk().HttpClientOptions(
            api_host=self.config.api_host,
            rest_host=self.config.rest_host,
            timeout=self.config.timeout,
            max_retries=0,  # urllib3 must not resend a POST
            pool_connections=1,
            pool_maxsize=1,  # the SDK retries RemoteDisconnected pool_maxsize-1 times
        )

    def _sender(self) -> str:
        if not self.config.sender:
            raise PermanentError("No sender number or name is set for Vonage (Settings).", "config")
        return self.config.sender

    def _failure(self, exc: Exception) -> ProviderError:
        """Translate what the SDK or requests raised into our provider errors."""
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, sdk().RateLimitedError):
            return TransientError("Vonage is rate limiting us (HTTP 429).", "429",
                                  retry_after=_retry_after(exc.response))
        if isinstance(exc, sdk().HttpRequestError):
            return _http_failure(exc.response)
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _before_sending(exc):
            return self._transport_error("connect", exc)
        if isinstance(exc, requests.exceptions.SSLError):
            return self._transport_error("tls", exc)
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return self._transport_error("timeout", exc)
        if not isinstance(exc, requests.exceptions.RequestException):
            return self._transport_error("unreadable", exc)
        return self._transport_error("dropped", exc)

    def _transport_error(self, kind: str, exc: Exception) -> ProviderError:
        """The error for a failure on the way to Vonage, in the same words whichever client
        (the SDK's requests or the lean wire) raised it."""
        if kind == "connect":
            return TransientError(f"Could not connect to Vonage: {short(exc)}", "connect")
        if kind == "tls":
            return TransientError(f"TLS handshake with Vonage failed: {short(exc)}", "tls")
        if kind == "timeout":
            return UnknownOutcomeError(
                f"Vonage did not answer within {self.config.timeout} s; the message may have "
                "been sent — waiting for its receipt.", "timeout")
        if kind == "unreadable":
            log.warning("unreadable answer from Vonage: %s", type(exc).__name__)
            return UnknownOutcomeError(UNREADABLE, "unreadable")
        return UnknownOutcomeError(
            f"The connection to Vonage broke after the request was sent ({short(exc)}); "
            "the message may have been sent — waiting for its receipt.", "dropped")


def _gate_requests(client: HttpClient, provider: _VonageProvider) -> None:
    """Run `provider.before_wire` once the connection is up (TLS handshake included) and
    right before the request is written; a failure there means nothing was sent, so it is a
    temporary error, never an unknown outcome."""
    manager = client._session.get_adapter("https://").poolmanager

    class GatedPool(HTTPSConnectionPool):
        def _validate_conn(self, conn) -> None:
            super()._validate_conn(conn)  # connects first when the pooled connection is closed
            vonage_wire.admit(provider.before_wire)

    manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": GatedPool}


def _environment_once(client: HttpClient, host: str) -> None:
    """Read the CA bundle from the environment once instead of on every request.

    requests scans every environment variable for proxy settings on each send, which costs
    more than a fifth of a send's CPU time. With no proxy configured there is nothing to look
    up per request: keep the CA bundle (REQUESTS_CA_BUNDLE) it found and stop looking."""
    session = client._session  # the SDK's requests.Session (it has no public accessor)
    if requests.utils.getproxies():
        return  # proxies may depend on the host (NO_PROXY): let requests decide per request
    found = session.merge_environment_settings(f"https://{host}", {}, None, None, None)
    session.verify = found["verify"]
    session.trust_env = False


def _before_sending(exc: BaseException) -> bool:
    """True when the chain shows the TCP connection was never made (nothing was sent)."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectTimeoutError):  # NewConnectionError, NameResolutionError
            return True
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
    return False


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("Retry-After"))
    except (TypeError, ValueError, AttributeError):
        return None


def _http_failure(response) -> ProviderError:
    """An HTTP error status from Vonage: 5xx is worth retrying, other 4xx are final."""
    status = response.status_code
    detail = _problem_text(response)
    if status >= 500:
        return TransientError(f"Vonage had a server error (HTTP {status}). {detail}".strip(),
                              str(status))
    if status == 401:
        return PermanentError("Vonage refused the credentials (HTTP 401): check the API key, "
                              "secret, application id and private key on the Settings page.", "401")
    return PermanentError(f"Vonage refused the message (HTTP {status}): {detail}".strip(),
                          str(status))


def _problem_text(response) -> str:
    """The title and detail of an RFC 7807 error body, or its first characters."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "")[:200]
    if not isinstance(body, dict):
        return str(body)[:200]
    keys = ("title", "detail", "error_title", "error-text")
    parts = [str(body[k]) for k in keys if body.get(k)]
    for problem in body.get("invalid_parameters") or []:
        parts.append(f"{problem.get('name')}: {problem.get('reason')}")
    return " — ".join(parts)[:300]


class VonageSmsProvider(_VonageProvider):
    """Text messages through the SMS API; our message id travels as client-ref.

    A text goes by the lean wire (vonage_wire.py: the SDK's form, headers and settings in one
    HTTP/1.1 POST on a kept-alive TLS socket, never resent); through a proxy it goes by the SDK
    itself."""

    _wire: SmsWire | None = None
    _proxied: bool | None = None  # a proxy is configured: read once (a scan of os.environ)

    def send(self, message: Outgoing) -> SendResult:
        """Send one SMS; multipart texts report every part id, their count and total price."""
        if self._proxied is None:
            self._proxied = bool(requests.utils.getproxies())
        if self._proxied:  # proxies may depend on the host: requests decides
            return self._send_sdk(message)
        form = self._form(message)
        if self._wire is None:
            c = self.config
            self._wire = SmsWire(c.rest_host, c.api_key, c.api_secret, c.timeout,
                                 lambda: self.before_wire, sdk_version())
        try:
            answer = self._wire.post(form)
        except Exception as exc:  # transport errors: nothing else may escape untyped
            raise self._wire_failure(exc) from None
        return _sms_answer(answer)

    def _form(self, message: Outgoing) -> dict:
        """The form the SDK's SmsMessage posts, in its order, without its None fields."""
        body = message.body
        form = {"to": digits(message.to), "from": sender_field(message.sender or self._sender()),
                "text": body, "client-ref": str(message.message_id),
                "type": "unicode" if segments.count(body).encoding == "UCS-2" else "text"}
        callback = self.config.webhook(SMS_RECEIPT_PATH)
        if callback and len(callback) <= 100:
            form["callback"] = callback
        return form

    def _wire_failure(self, exc: Exception) -> ProviderError:
        """What the lean wire raised, in the words the SDK path uses for the same failure."""
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, vonage_wire.WireError):
            return self._transport_error(exc.kind, exc)
        return self._transport_error("unreadable", exc)

    def _send_sdk(self, message: Outgoing) -> SendResult:
        """Send one SMS through the SDK (its validation, requests, its answer model)."""
        request = self._request(message)
        sms = sdk().Sms(self._http())
        try:
            response = sms.send(request)
        except sdk().PartialFailureError as exc:
            raise _partial_failure(exc.response) from None
        except sdk().SmsError:
            raise _status_failure(_last_json(sms.http_client)) from None
        except Exception as exc:  # transport and HTTP errors: nothing else may escape untyped
            raise self._failure(exc) from None
        return _sms_result(response)

    def _request(self, message: Outgoing) -> SmsMessage:
        form = self._form(message)
        try:
            return sdk().SmsMessage(
                to=form["to"], from_=form["from"], text=form["text"], type=form["type"],
                client_ref=form["client-ref"], callback=form.get("callback"),
            )
        except ValidationError as exc:
            reason = f"This text cannot be sent: {_first_error(exc)}"
            raise PermanentError(reason, "invalid") from None


def _sms_answer(answer) -> SendResult:
    """The SMS API's answer to a wire POST, read as the SDK reads it."""
    status = answer.status_code
    if status == 429:
        raise TransientError("Vonage is rate limiting us (HTTP 429).", "429",
                             retry_after=_retry_after(answer))
    if not 200 <= status < 300:
        raise _http_failure(answer)
    try:
        data = answer.json()
        parts = data["messages"]
        count = int(data["message-count"])
        if count > 1:
            if any(str(part["status"]) != "0" for part in parts):
                raise _partial_failure(data)
        elif int(parts[0]["status"]) != 0:
            raise _status_failure(data)
        ids = tuple(str(part["message-id"]) for part in parts if part.get("message-id"))
        prices = [part.get("message-price") for part in parts]
    except ProviderError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        log.warning("unreadable answer from Vonage to an SMS (HTTP %s)", status)
        raise UnknownOutcomeError(UNREADABLE, "unreadable") from None
    if not ids:
        raise UnknownOutcomeError(UNREADABLE, "unreadable")
    return SendResult(provider_id=ids[0], segments=count, cost=_total_price(prices),
                      code="0", parts=ids)


def _total_price(prices) -> Decimal | None:
    """The parts' prices summed; None when no part carries a readable price."""
    cost, priced = Decimal(0), False
    for price in prices:
        try:
            cost += Decimal(price)
            priced = True
        except (TypeError, InvalidOperation):
            continue
    return cost if priced else None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error.get('loc', ()))} {error.get('msg', '')}".strip()


def _last_json(client: HttpClient) -> dict:
    try:
        return client.last_response.json()
    except (AttributeError, ValueError):
        return {}


def _part_error(part: dict) -> ProviderError:
    status = str(part.get("status", ""))
    text = part.get("error-text") or "unknown error"
    reason = f"Vonage: {text} (status {status})"
    if status in SMS_TRANSIENT:
        return TransientError(reason, status)
    return PermanentError(reason, status)


def _status_failure(data: dict) -> ProviderError:
    """A single-part send answered with a non-zero status."""
    parts = data.get("messages") or [{}]
    return _part_error(parts[0])


def _partial_failure(data: dict) -> ProviderError:
    """A multipart send where some parts failed: retry only when no part went out."""
    parts = data.get("messages") or []
    failed = [p for p in parts if str(p.get("status")) != "0"]
    sent = len(parts) - len(failed)
    first = _part_error(failed[0] if failed else {})
    if sent == 0:
        return first
    return PermanentError(
        f"Vonage accepted only {sent} of {len(parts)} parts; {first.reason}", first.code
    )


def _sms_result(response) -> SendResult:
    parts = tuple(m.message_id for m in response.messages if m.message_id)
    return SendResult(
        provider_id=parts[0],
        segments=int(response.message_count),
        cost=_total_price(m.message_price for m in response.messages),
        code="0",
        parts=parts,
    )


class VonageMmsProvider(_VonageProvider):
    """Picture messages through the Messages API (client_ref = our message id)."""

    def send(self, message: Outgoing) -> SendResult:
        """Send one MMS with its images (public URLs) and the text as caption."""
        model = self._model(message)
        client = sdk().Messages(self._http())
        try:
            response = client.send(model)
        except Exception as exc:
            raise self._failure(exc) from None
        return SendResult(provider_id=response.message_uuid, segments=1, code="202")

    def _model(self, message: Outgoing):
        urls = list(message.media_urls)
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise PermanentError("MMS pictures need a public web address; set the public "
                                     "address of Tidings on the Settings page.", "media")
        common = {
            "to": digits(message.to),
            "from_": digits(message.sender or self._sender()),
            "client_ref": str(message.message_id),
            "webhook_url": self.config.webhook(MESSAGES_STATUS_PATH),
        }
        caption = message.body or None
        try:
            if not urls:
                return sdk().MmsText(text=message.body, **common)
            if len(urls) == 1:
                image = sdk().MmsResource(url=urls[0], caption=caption)
                return sdk().MmsImage(image=image, **common)
            items = [sdk().MmsContentItemImage(url=url, caption=caption if i == 0 else None)
                     for i, url in enumerate(urls)]
            return sdk().MmsContent(content=items, **common)
        except ValidationError as exc:
            reason = f"This MMS cannot be sent: {_first_error(exc)}"
            raise PermanentError(reason, "invalid") from None


class VonageVoiceProvider(_VonageProvider):
    """Phone calls through the Voice API: text-to-speech, or an uploaded recording streamed."""

    def send(self, message: Outgoing) -> SendResult:
        """Place one call; the call uuid is the provider id, call events settle the status."""
        if not self.config.has_application:
            raise PermanentError("Voice calls need a Vonage application id and private key "
                                 "(Settings).", "config")
        request = self._request(message)
        client = sdk().Voice(self._http())
        try:
            response = client.create_call(request)
        except Exception as exc:
            raise self._failure(exc) from None
        return SendResult(provider_id=response.uuid, segments=1, code=response.status)

    def _caller(self, message: Outgoing) -> str:
        for candidate in (message.sender, self.config.voice_from, self.config.sender):
            if candidate and candidate.startswith("+"):
                return digits(candidate)
        raise PermanentError("Voice calls need a caller number in E.164 (Settings: voice "
                             "caller number).", "config")

    def _request(self, message: Outgoing) -> CreateCallRequest:
        if message.audio_url:
            ncco = [sdk().Stream(streamUrl=[message.audio_url])]
        elif message.body.strip():
            ncco = [sdk().Talk(text=chunk, language=self.config.voice_language)
                    for chunk in talk_chunks(message.body)]
        else:
            raise PermanentError("A call needs text to speak or a recording to play.", "invalid")
        event_url = self.config.webhook(VOICE_EVENT_PATH)
        try:
            return sdk().CreateCallRequest(
                ncco=ncco,
                to=[sdk().ToPhone(number=digits(message.to))],
                from_=sdk().Phone(number=self._caller(message)),
                event_url=[event_url] if event_url else None,
                event_method="POST" if event_url else None,
            )
        except (ValidationError, sdk().VonageError) as exc:
            text = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            raise PermanentError(f"This call cannot be placed: {text}", "invalid") from None


def talk_chunks(text: str, limit: int = TALK_LIMIT) -> list[str]:
    """Split long text-to-speech into pieces under Vonage's limit, at sentence or word ends."""
    rest = " ".join(text.split())
    chunks = []
    while len(rest) > limit:
        cut = max(rest.rfind(end, 0, limit) for end in (". ", "? ", "! "))
        cut = cut + 1 if cut > limit // 2 else rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        chunks.append(rest)
    return chunks
