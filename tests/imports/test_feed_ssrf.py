"""The feed fetcher's SSRF guard: the host is resolved once and the connection goes to the
address that was checked (a DNS answer that changes afterwards — DNS rebinding — is never
used), redirects are checked again, private / loopback / link-local addresses are refused
unless the feed allows them, and https still checks the certificate against the feed's host.

Two local servers stand in for the internet and the private network: 127.0.0.1 plays a public
address (the test's `refused` lets it through), 127.0.0.2 a private one, both on one port."""

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.appointments.importing import fetching
from core.appointments.importing.fetching import FeedError, fetch

PUBLIC, PRIVATE = "127.0.0.1", "127.0.0.2"
HOST = "calendar.feeds.test"


class Server:
    """One local HTTP(S) server: what it answers per path, and the Host headers it saw."""

    def __init__(self, address: str, port: int = 0, context: ssl.SSLContext | None = None):
        self.answers: dict[str, tuple[int, dict, bytes]] = {}
        self.hosts: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the name http.server calls)
                owner.hosts.append(self.headers.get("Host"))
                status, headers, body = owner.answers.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in (headers | {"Content-Length": str(len(body))}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((address, port), Handler)
        if context:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def network(monkeypatch):
    """A public and a private server on one port, 127.0.0.1 counted as public."""
    public = Server(PUBLIC)
    private = Server(PRIVATE, public.port)
    checked = fetching.refused
    monkeypatch.setattr(fetching, "refused",
                        lambda address: str(address) != PUBLIC and checked(address))
    yield public, private
    public.stop()
    private.stop()


@pytest.fixture
def dns(monkeypatch):
    """A resolver for the test hosts: dns[name] = [answer of the 1st lookup, of the 2nd, ...]
    (the last one repeats); other names go to the real resolver. dns.lookups counts them."""
    real = socket.getaddrinfo

    class Resolver(dict):
        lookups: dict[str, int] = {}

        def __call__(self, host, port, *args, **kwargs):
            if host not in self:
                return real(host, port, *args, **kwargs)
            count = self.lookups[host] = self.lookups.get(host, 0) + 1
            answers = self[host][min(count, len(self[host])) - 1]
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port)) for a in answers.split(",")]

    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def test_a_dns_answer_that_changes_after_the_check_is_never_used(network, dns):
    public, private = network
    public.answers["/cal.ics"] = (200, {}, FEED)
    private.answers["/cal.ics"] = (200, {}, b"internal secrets")
    dns[HOST] = [PUBLIC, PRIVATE]  # checked as public, then rebound to the private address
    fetched = fetch(f"http://{HOST}:{public.port}/cal.ics")
    assert fetched.body == FEED
    assert private.hosts == []
    assert public.hosts == [f"{HOST}:{public.port}"]  # the feed's host name, not the address
    assert dns.lookups[HOST] == 1


def test_a_redirect_is_checked_again(network, dns):
    public, private = network
    dns[HOST], dns["metadata.feeds.test"] = [PUBLIC], ["169.254.169.254"]
    private.answers["/cal.ics"] = (200, {}, b"internal secrets")
    for target in (f"http://{PRIVATE}:{public.port}/cal.ics", "http://metadata.feeds.test/x",
                   f"http://[::1]:{public.port}/cal.ics", "file:///etc/passwd"):
        public.answers["/moved"] = (302, {"Location": target}, b"")
        with pytest.raises(FeedError, match="private or local address|must start with https"):
            fetch(f"http://{HOST}:{public.port}/moved")
    assert private.hosts == []
    public.answers["/moved"] = (301, {"Location": "/cal.ics"}, b"")
    public.answers["/cal.ics"] = (200, {}, FEED)
    assert fetch(f"http://{HOST}:{public.port}/moved").body == FEED


@pytest.mark.parametrize("answer", [
    "10.0.0.7", "172.16.4.2", "192.168.1.20", PRIVATE, "169.254.169.254", "0.0.0.0", "::1",
    "fe80::1", "fd00::5", "::ffff:10.0.0.7", f"{PUBLIC},10.0.0.7"])
def test_private_loopback_and_link_local_are_refused_unless_allowed(network, dns, answer):
    public, private = network
    dns[HOST] = [answer]
    with pytest.raises(FeedError, match="private or local address; an Admin must allow"):
        fetch(f"http://{HOST}:{public.port}/cal.ics")
    assert public.hosts == private.hosts == []


def test_the_admin_allowance_lets_a_private_feed_through(network, dns):
    public, private = network
    private.answers["/cal.ics"] = (200, {"ETag": '"v1"'}, FEED)
    dns[HOST] = [PRIVATE]
    fetched = fetch(f"http://{HOST}:{public.port}/cal.ics", allow_private=True)
    assert (fetched.body, fetched.etag) == (FEED, '"v1"')


def _certificate(tmp_path, name: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a self-signed certificate for `name`, and its file as the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, str(cert_file)


def test_https_to_the_pinned_address_still_checks_the_certificate_for_the_host(
        tmp_path, dns, monkeypatch):
    context, ca = _certificate(tmp_path, HOST)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = Server(PUBLIC, context=context)
    monkeypatch.setattr(fetching, "CA_BUNDLE", ca)
    server.answers["/cal.ics"] = (200, {}, FEED)
    dns[HOST] = [PUBLIC]
    dns["other.feeds.test"] = [PUBLIC]
    try:
        assert fetch(f"https://{HOST}:{server.port}/cal.ics", allow_private=True).body == FEED
        assert names == [HOST]  # the SNI names the host, not the address connected to
        with pytest.raises(FeedError, match="cannot be reached"):  # wrong name on the cert
            fetch(f"https://other.feeds.test:{server.port}/cal.ics", allow_private=True)
    finally:
        server.stop()
    assert ipaddress.ip_address(PUBLIC).is_loopback  # the test's servers never leave the machine
