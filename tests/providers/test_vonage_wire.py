"""The lean SMS wire against a raw TLS server that answers with scripted bytes: the HTTP/1.1
framings a server may choose (chunked, to the end of the connection, Connection: close, an
informational answer first), a keep-alive connection the server closed while idle, garbage,
and an untrusted certificate. Every request is written exactly once."""

import json
import socket
import ssl
import threading
import time
from collections import deque

import pytest
import trustme

from core.providers.base import Outgoing, TransientError, UnknownOutcomeError
from core.providers.vonage import VonageConfig, VonageSmsProvider

OK = json.dumps({"message-count": "1", "messages": [
    {"to": "15550001111", "message-id": "WIRE-1", "status": "0", "message-price": "0.0079",
     "remaining-balance": "9.5", "network": "12345"}]}).encode()


class RawServer:
    """Reads each request (head and Content-Length body) and answers with the next scripted
    bytes; after an answer marked `close`, it closes that connection."""

    def __init__(self, ca: trustme.CA):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.answers: deque = deque()
        self.requests: list[bytes] = []
        self.connections = 0
        self.hung_up = threading.Event()  # the server closed a connection
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def script(self, *answers: tuple[bytes, bool]) -> None:
        self.answers.extend(answers)

    def serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.connection, args=(raw,), daemon=True).start()

    def connection(self, raw: socket.socket) -> None:
        try:
            sock = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        buffer = b""
        with sock:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(buffer) < length:
                    buffer += sock.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + buffer[:length])
                buffer = buffer[length:]
                answer, close = self.answers.popleft()
                sock.sendall(answer)
                if close:
                    sock.close()
                    self.hung_up.set()
                    return

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def server(vonage_ca, monkeypatch):
    ca, path = vonage_ca
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    running = RawServer(ca)
    yield running
    running.stop()


def _provider(host: str) -> VonageSmsProvider:
    return VonageSmsProvider(VonageConfig(api_key="abcd1234", api_secret="api-secret-4f2a",
                                          sender="+15550009999", rest_host=host, timeout=1))


def _text(n: int = 1) -> Outgoing:
    return Outgoing(message_id=n, channel="sms", to="+15550001111", body="See you at 9:00.")


def _sized(body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_a_chunked_answer_with_trailers_is_read_and_the_connection_kept(server):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x;ext=1\r\n%s\r\n" % (10, OK[:10]) + b"%x\r\n%s\r\n" % (len(OK) - 10, OK[10:])
               + b"0\r\nX-Trailer: yes\r\n\r\n")
    server.script((chunked, False), (_sized(OK), False))
    provider = _provider(server.host)
    first, second = provider.send(_text(1)), provider.send(_text(2))
    assert first.provider_id == second.provider_id == "WIRE-1"
    assert str(first.cost) == "0.0079"
    assert len(server.requests) == 2 and server.connections == 1


def test_connection_close_and_a_body_to_the_end_reconnect_for_the_next_text(server):
    to_the_end = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK
    server.script((_sized(OK, "Connection: close\r\n"), True), (to_the_end, True),
                  (_sized(OK), False))
    provider = _provider(server.host)
    for n in (1, 2, 3):
        assert provider.send(_text(n)).provider_id == "WIRE-1"
    assert len(server.requests) == 3 and server.connections == 3
    assert [r.split(b"client-ref=")[1][:1] for r in server.requests] == [b"1", b"2", b"3"]


def test_an_idle_connection_the_server_closed_is_replaced_before_writing(server):
    """A keep-alive connection closed by the server while idle is seen before the next text
    is written: the text goes once, on a new connection, and is not an unknown outcome."""
    server.script((_sized(OK), True), (_sized(OK), False))  # answers, then hangs up
    provider = _provider(server.host)
    provider.send(_text(1))
    assert server.hung_up.wait(5)
    time.sleep(0.05)  # the FIN crosses the loopback
    assert provider.send(_text(2)).provider_id == "WIRE-1"
    assert len(server.requests) == 2 and server.connections == 2


def test_an_informational_answer_before_the_real_one_is_skipped(server):
    server.script((b"HTTP/1.1 100 Continue\r\n\r\n" + _sized(OK), False))
    assert _provider(server.host).send(_text()).provider_id == "WIRE-1"


def test_the_retry_after_of_a_429_is_read_whatever_its_case(server):
    body = json.dumps({"title": "Too Many Requests"}).encode()
    server.script((_sized(body, "retry-after: 7\r\n").replace(b"200 OK", b"429 Too Many"), False))
    with pytest.raises(TransientError) as caught:
        _provider(server.host).send(_text())
    assert caught.value.code == "429" and caught.value.retry_after == 7


def test_garbage_instead_of_http_is_an_unknown_outcome_sent_once(server):
    server.script((b"SSH-2.0-OpenSSH_9.2\r\n\r\n", True))
    with pytest.raises(UnknownOutcomeError) as caught:
        _provider(server.host).send(_text())
    assert caught.value.code == "unreadable"
    assert len(server.requests) == 1


def test_an_answer_cut_short_is_an_unknown_outcome_sent_once(server):
    server.script((_sized(OK)[:-5], True))
    with pytest.raises(UnknownOutcomeError) as caught:
        _provider(server.host).send(_text())
    assert caught.value.code == "dropped" and "may have been sent" in caught.value.reason
    assert len(server.requests) == 1


def test_an_untrusted_certificate_sends_nothing_and_is_temporary(server, monkeypatch, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    with pytest.raises(TransientError) as caught:
        _provider(server.host).send(_text())
    assert caught.value.code == "tls"
    assert server.requests == []
