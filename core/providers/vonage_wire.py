"""The SMS API's hot path without the SDK: one HTTP/1.1 POST of the very form the SDK sends.

The SDK validates the request and the answer with pydantic and goes through requests, urllib3
and http.client (whose header parsing runs the e-mail parser): per text, that costs several
times the CPU of the send itself. For the one call a mass send makes per message, this writes
the same form (to, from, text, client-ref, type, callback) with the same headers and basic auth
on one keep-alive TLS connection (verified against the CA bundle requests would use, the same
timeout) and reads the answer with a small HTTP/1.1 reader (Content-Length, chunked, or to the
end of the connection). A request is written **at most once**: nothing here ever resends.
Its answers and failures are read into the same provider errors as the SDK path
(core/providers/vonage.py). Everything else (MMS, voice, and SMS through a proxy) keeps the SDK.
"""

import base64
import json
import os
import select
import socket
import ssl
from platform import python_version
from urllib.parse import urlencode

import certifi
from requests.structures import CaseInsensitiveDict

from core.providers.base import TransientError

SMS_PATH = "/sms/json"
MAX_HEAD = 64 * 1024  # an answer's status line and headers; more is not an SMS API answer


def ca_bundle() -> str:
    """The CA file requests would verify with: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, certifi."""
    return (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where())


class WireError(Exception):
    """A transport failure, with where it happened: `connect` and `tls` (nothing was written:
    safe to retry), `timeout` and `dropped` (the request may have arrived), `unreadable` (an
    answer that is not HTTP)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


class WireResponse:
    """An answer with the few attributes the SDK path's error readers use."""

    def __init__(self, status: int, headers: CaseInsensitiveDict, data: bytes):
        self.status_code, self.headers, self.content = status, headers, data

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def short(exc: BaseException) -> str:
    """An exception in a few words for a message's failure reason."""
    return str(exc)[:200] or type(exc).__name__


def admit(hook) -> None:
    """Run the rate limiter's admission `hook` (if any) right before a request is written;
    a hook that fails (Redis down) means nothing was sent: a temporary error."""
    if hook is None:
        return
    try:
        hook()
    except Exception as exc:  # noqa: BLE001 - e.g. Redis down: nothing was sent
        raise TransientError(f"Not sent, the rate limiter failed: {short(exc)}",
                             "limiter") from exc


class SmsWire:
    """One keep-alive HTTPS connection to the SMS API; `gate` runs once the connection is up
    and right before each request is written (the rate limiter's admission)."""

    def __init__(self, host: str, api_key: str, api_secret: str, timeout: float, gate,
                 sdk_version: str):
        name, _, port = host.partition(":")
        self.address, self.server_name = (name, int(port or 443)), name
        self.timeout, self.gate = timeout, gate
        self.context = ssl.create_default_context(cafile=ca_bundle())
        token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self.head = (
            f"POST {SMS_PATH} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n"
            f"User-Agent: vonage-python-sdk/{sdk_version} python/{python_version()}\r\n"
            "Accept: application/json\r\n"
            f"Authorization: Basic {token}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
        ).encode("latin-1")
        self.sock: ssl.SSLSocket | None = None

    def post(self, form: dict) -> WireResponse:
        """POST the form once; raises WireError (or the gate's TransientError)."""
        body = urlencode(form).encode()
        request = b"%s%d\r\n\r\n%s" % (self.head, len(body), body)
        sock = self._connection()
        admit(self.gate())
        try:
            sock.sendall(request)
            answer, keep = self._read(sock)
        except WireError:
            self.close()
            raise
        except TimeoutError as exc:
            self.close()
            raise WireError("timeout", f"Read timed out ({short(exc)})") from exc
        except (OSError, ValueError) as exc:  # reset, broken pipe, TLS alert, bad framing
            self.close()
            raise WireError("dropped", short(exc)) from exc
        if not keep:
            self.close()
        return answer

    def _connection(self) -> ssl.SSLSocket:
        """The open connection, or a new one (TCP and TLS) when there is none or the server
        has closed the idle one (it then reads as readable: end of file)."""
        if self.sock is not None and select.select([self.sock], [], [], 0)[0]:
            self.close()
        if self.sock is None:
            try:
                raw = socket.create_connection(self.address, timeout=self.timeout)
            except OSError as exc:
                raise WireError("connect", short(exc)) from exc
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock = self.context.wrap_socket(raw, server_hostname=self.server_name)
            except ssl.SSLError as exc:  # certificate or handshake refused
                raw.close()
                raise WireError("tls", short(exc)) from exc
            except OSError as exc:  # timed out or reset during the handshake: nothing sent
                raw.close()
                raise WireError("connect", short(exc)) from exc
        return self.sock

    def _read(self, sock: ssl.SSLSocket) -> tuple[WireResponse, bool]:
        """One HTTP/1.1 answer (informational 1xx answers skipped); whether the connection
        may carry the next request."""
        buffer = b""
        while True:
            while (end := buffer.find(b"\r\n\r\n")) < 0:
                if len(buffer) > MAX_HEAD:
                    raise WireError("unreadable", "The answer's header is too long")
                buffer += _recv(sock)
            head, buffer = buffer[:end].decode("latin-1").split("\r\n"), buffer[end + 4:]
            version, _, rest = head[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise WireError("unreadable", f"Not an HTTP answer: {head[0][:60]!r}")
            status = int(code)
            if status >= 200:
                break
        headers = CaseInsensitiveDict()
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status in (204, 304):
            return WireResponse(status, headers, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            data, buffer = _chunked(sock, buffer)
        elif (length := headers.get("content-length")) is not None:
            size = int(length)
            while len(buffer) < size:
                buffer += _recv(sock)
            data, buffer = buffer[:size], buffer[size:]
        else:  # the body runs to the end of the connection
            while chunk := sock.recv(65536):
                buffer += chunk
            data, buffer, keep = buffer, b"", False
        return WireResponse(status, headers, data), keep and not buffer

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


def _recv(sock: ssl.SSLSocket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise WireError("dropped", "The connection closed before the answer was complete")
    return chunk


def _chunked(sock: ssl.SSLSocket, buffer: bytes) -> tuple[bytes, bytes]:
    """A chunked body (trailers skipped) and what followed it."""
    data = []
    while True:
        while (end := buffer.find(b"\r\n")) < 0:
            buffer += _recv(sock)
        size = int(buffer[:end].split(b";")[0], 16)
        buffer = buffer[end + 2:]
        if size == 0:
            while (end := buffer.find(b"\r\n")) != 0:  # trailer fields, then an empty line
                if end > 0:
                    buffer = buffer[end + 2:]
                else:
                    buffer += _recv(sock)
            return b"".join(data), buffer[2:]
        while len(buffer) < size + 2:
            buffer += _recv(sock)
        data.append(buffer[:size])
        buffer = buffer[size + 2:]
