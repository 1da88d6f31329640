"""A local HTTPS server that imitates Vonage's SMS, Messages and Voice endpoints.

The real `vonage` SDK talks to it (its hosts are configurable); each test scripts the answers
per path — a JSON reply, a reply after a delay, or a dropped connection after the request was
read — and then asserts on the requests that really arrived.
"""

import base64
import json
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SMS_PATH = "/sms/json"
MESSAGES_PATH = "/v1/messages"
CALLS_PATH = "/v1/calls"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status and JSON body, optionally late, or no answer at all."""

    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without answering


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def basic_auth(self) -> tuple[str, str]:
        value = self.headers.get("Authorization", "")
        user, _, password = base64.b64decode(value.removeprefix("Basic ")).decode().partition(":")
        return user, password

    @property
    def bearer(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


def sms_ok(*parts: tuple[str, str], to: str = "15550001111", client_ref: str = "") -> Reply:
    """An SMS API success: one (message-id, message-price) per part."""
    messages = [{"to": to, "message-id": mid, "status": "0", "remaining-balance": "9.5",
                 "message-price": price, "network": "310260", "client-ref": client_ref}
                for mid, price in parts]
    return Reply(body={"message-count": str(len(messages)), "messages": messages})


def sms_status(status: str, error_text: str) -> Reply:
    """An SMS API refusal: HTTP 200 with a non-zero status, as Vonage answers."""
    return Reply(body={"message-count": "1",
                       "messages": [{"status": status, "error-text": error_text}]})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        self.server.fake.record(Seen(self.command, path, dict(self.headers), body))
        reply = self.server.fake.next_reply(path)
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, bytes):  # a media file: the bytes as they are
            payload, kind = reply.body, "application/octet-stream"
        else:
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            kind = "application/json"
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.headers.get("Content-Type", kind))
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (OSError, ssl.SSLError):
            self.close_connection = True  # the client gave up (timeout test)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: "FakeVonage"

    def handle_error(self, request, client_address):  # dropped/timed-out clients are expected
        pass


class FakeVonage:
    """The server, its scripted replies per path, and the requests it saw."""

    def __init__(self, ca: trustme.CA):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self._server.fake = self
        self._replies: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeVonage":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with these replies, in order."""
        with self._lock:
            self._replies[path].extend(replies)

    def next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self._replies[path]
            if queue:
                return queue.popleft()
        return Reply(404, {"title": "Not scripted", "detail": f"no reply for {path}"})

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def seen(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]


@pytest.fixture(scope="session")
def vonage_ca(tmp_path_factory):
    """A throwaway certificate authority and its PEM file for the client side."""
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "fake-vonage-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture
def fake_vonage(vonage_ca, monkeypatch):
    """The running fake; requests trusts only its CA (this machine sets REQUESTS_CA_BUNDLE)."""
    ca, path = vonage_ca
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    server = FakeVonage(ca).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rsa_key_pem() -> str:
    """An RSA private key in PKCS#8 PEM, as Vonage hands out for an application."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_of(pem: str):
    """The public half of a PEM private key (to check the SDK's RS256 JWTs)."""
    return serialization.load_pem_private_key(pem.encode(), password=None).public_key()
