"""Fetching a calendar feed safely: http(s) only, no private addresses (SSRF), a size cap, a
timeout, and conditional requests (ETag / Last-Modified) so an unchanged feed costs nothing.

The host is resolved and checked before the request and before each redirect. A host whose DNS
answer changes between that check and the connection (DNS rebinding) is not caught here.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = (5, 20)  # seconds to connect, seconds between bytes
MAX_REDIRECTS = 3


class FeedError(ValueError):
    """The feed cannot be fetched; the message is fit to show an Admin."""


@dataclass
class Fetched:
    """A feed's body (None when unchanged since the last fetch) and its validators."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def check_url(url: str, allow_private: bool = False) -> None:
    """Refuse what is not http(s), and hosts on private, loopback or link-local addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("The feed address must start with https:// (or http://).")
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise FeedError(f"The host “{parts.hostname}” cannot be found.") from None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if not address.is_global:
            raise FeedError(f"The host “{parts.hostname}” is a private or local address; an "
                            "Admin must allow private addresses for this feed.")


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          allow_private: bool = False) -> Fetched:
    """GET a feed with conditional headers, following a few redirects (each one checked)."""
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "Tidings calendar feed"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, allow_private)
        try:
            response = requests.get(url, headers=headers, timeout=TIMEOUT, stream=True,
                                    allow_redirects=False)
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
