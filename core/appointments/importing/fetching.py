"""Fetching a calendar feed safely: http(s) only, no private addresses (SSRF), a size cap, a
timeout, and conditional requests (ETag / Last-Modified) so an unchanged feed costs nothing.

The host is resolved once per request, every address it answers is checked, and the connection
is made to the checked address (with the feed's host name in the Host header, the TLS SNI and
the certificate check), so a DNS answer that changes after the check (DNS rebinding) is never
used. Each redirect is resolved, checked and pinned the same way. Proxies from the environment
are not used: a proxy would make the connection the check did not see.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = (5, 20)  # seconds to connect, seconds between bytes
CA_BUNDLE: str | bool = True  # what verifies a feed's certificate (requests' default: certifi)
MAX_REDIRECTS = 3


class FeedError(ValueError):
    """The feed cannot be fetched; the message is fit to show an Admin."""


@dataclass
class Fetched:
    """A feed's body (None when unchanged since the last fetch) and its validators."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is private, loopback, link-local or otherwise not on the internet."""
    return not address.is_global


def check_url(url: str, allow_private: bool = False) -> str:
    """The address to connect to for `url`: its host resolved once, every answer checked.

    Refuses what is not http(s), and hosts with any private, loopback or link-local address
    unless the feed allows private addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("The feed address must start with https:// (or http://).")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise FeedError(f"The host “{parts.hostname}” cannot be found.") from None
    addresses = [ipaddress.ip_address(sockaddr[0].split("%")[0]) for *_, sockaddr in found]
    if not addresses:
        raise FeedError(f"The host “{parts.hostname}” cannot be found.")
    if not allow_private and any(refused(address) for address in addresses):
        raise FeedError(f"The host “{parts.hostname}” is a private or local address; an "
                        "Admin must allow private addresses for this feed.")
    return str(addresses[0])


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          allow_private: bool = False) -> Fetched:
    """GET a feed with conditional headers, following a few redirects (each one checked)."""
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "Tidings calendar feed"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        address = check_url(url, allow_private)
        with _pinned_session(address) as session:
            try:
                response = session.get(url, headers=headers, timeout=TIMEOUT, stream=True,
                                       verify=CA_BUNDLE, allow_redirects=False)
            except requests.RequestException as exc:
                raise FeedError(f"The feed cannot be reached ({type(exc).__name__}).") from None
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code == 304:
                    return Fetched(None, etag, last_modified)
                if response.status_code != 200:
                    raise FeedError(f"The feed answered HTTP {response.status_code}.")
                return Fetched(_read(response), response.headers.get("ETag"),
                               response.headers.get("Last-Modified"))
    raise FeedError("The feed redirects too many times.")


def _pinned_session(address: str) -> requests.Session:
    """A session whose every connection goes to `address`, whatever the URL's host resolves to."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment, no .netrc
    adapter = _PinnedAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _PinnedAdapter(HTTPAdapter):
    """requests' adapter with connection pools that connect to one checked address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http, https = _pinned(HTTPConnection, self.address), _pinned(HTTPSConnection, self.address)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


def _pinned(base: type, address: str) -> type:
    """A urllib3 connection class that opens its socket to `address`; the host name stays in
    the Host header, the SNI and the certificate's host name check."""

    def _new_conn(self) -> socket.socket:
        try:
            return connection.create_connection(
                (address, self.port), self.timeout, source_address=self.source_address,
                socket_options=self.socket_options)
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to connect to {self.host}: {exc}") from exc

    return type(f"Pinned{base.__name__}", (base,), {"_new_conn": _new_conn})


def _read(response) -> bytes:
    if int(response.headers.get("Content-Length") or 0) > MAX_BYTES:
        raise FeedError(f"The feed is larger than {MAX_BYTES // 1024 // 1024} MB.")
    body = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_BYTES:
                raise FeedError(f"The feed is larger than {MAX_BYTES // 1024 // 1024} MB.")
    except requests.RequestException as exc:
        raise FeedError(f"The feed stopped half-way ({type(exc).__name__}).") from None
    return bytes(body)
