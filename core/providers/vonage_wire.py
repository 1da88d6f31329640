"""The SMS API's hot path without the SDK: one urllib3 POST of the very form the SDK sends.

The SDK validates the request and the answer with pydantic and goes through requests: per text,
that costs more CPU than the send itself. For the one call a mass send makes per message, this
posts the same form (to, from, text, client-ref, type, callback) with the same headers, basic
auth, timeout and TLS verification (the CA bundle requests would use), through a pool of one
keep-alive connection with **no retries**: a request is written at most once. Its answers and
failures are read into the same provider errors as the SDK path (core/providers/vonage.py).
Everything else (MMS, voice, and SMS through a proxy) keeps the SDK.
"""

import base64
import json
import os
from platform import python_version
from urllib.parse import urlencode

import certifi
from urllib3 import HTTPSConnectionPool, Timeout
from urllib3.exceptions import HTTPError, ReadTimeoutError, SSLError

from core.providers.base import TransientError

SMS_PATH = "/sms/json"


def ca_bundle() -> str:
    """The CA file requests would verify with: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, certifi."""
    return (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where())


class WireResponse:
    """An answer with the few attributes the SDK path's error readers use."""

    def __init__(self, status: int, headers, data: bytes):
        self.status_code, self.headers, self.content = status, headers, data

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class SmsWire:
    """One keep-alive HTTPS connection to the SMS API; `gate` runs once the connection is up
    and right before each request is written (the rate limiter's admission)."""

    def __init__(self, host: str, api_key: str, api_secret: str, timeout: float, gate,
                 sdk_version: str):
        name, _, port = host.partition(":")
        token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self.headers = {
            "User-Agent": f"vonage-python-sdk/{sdk_version} python/{python_version()}",
            "Accept": "application/json", "Authorization": f"Basic {token}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self.pool = gated_pool(gate)(name, int(port or 443), maxsize=1, block=False,
                                     timeout=Timeout(connect=timeout, read=timeout),
                                     retries=False, cert_reqs="CERT_REQUIRED",
                                     ca_certs=ca_bundle())

    def post(self, form: dict) -> WireResponse:
        """POST the form once; raises urllib3's errors (or the gate's TransientError)."""
        answer = self.pool.urlopen("POST", SMS_PATH, body=urlencode(form), headers=self.headers,
                                   retries=False, redirect=False, preload_content=True)
        return WireResponse(answer.status, answer.headers, answer.data)

    def close(self) -> None:
        self.pool.close()


def gated_pool(gate):
    """An HTTPSConnectionPool class that calls `gate()` after connecting, before writing."""

    class GatedPool(HTTPSConnectionPool):
        def _validate_conn(self, conn) -> None:
            super()._validate_conn(conn)  # connects first (TLS handshake included)
            if gate() is not None:
                try:
                    gate()()
                except Exception as exc:  # noqa: BLE001 - e.g. Redis down: nothing was sent
                    reason = str(exc)[:200] or type(exc).__name__
                    raise TransientError(f"Not sent, the rate limiter failed: {reason}",
                                         "limiter") from exc

    return GatedPool


def is_read_timeout(exc: BaseException) -> bool:
    return isinstance(exc, ReadTimeoutError)


def is_tls_failure(exc: BaseException) -> bool:
    return isinstance(exc, SSLError)


def is_transport(exc: BaseException) -> bool:
    return isinstance(exc, HTTPError)
