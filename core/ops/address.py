"""The public address: the one providers and clients reach Tidings at, and whether the admin
is using the same one."""

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL; None when it is not one."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


def mismatch(public_url: str, used_url: str) -> str | None:
    """A warning when the public address is not the address in use, else None."""
    public, used = origin(public_url), origin(used_url)
    if used is None or public == used:
        return None
    shown = public_url.rstrip("/") if public_url else "not set"
    return (f"The public address ({shown}) is not the address you are using "
            f"({used_url.rstrip('/')}): secure links, pictures and attachments sent now "
            "point there. Correct it below unless this is on purpose (e.g. a proxy).")
