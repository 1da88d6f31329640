"""Who may read /metrics: a bearer token (METRICS_TOKEN) and/or a list of addresses or
networks (METRICS_ALLOW). Every guard that is configured must pass; with none configured
/metrics does not exist (404) for anyone, loopback included: behind a reverse proxy on the
same host every request would come from 127.0.0.1, so loopback alone proves nothing."""

import hmac
import ipaddress


def _networks(allow: str) -> list:
    networks = []
    for part in (allow or "").replace(";", ",").split(","):
        if part.strip():
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
    return networks


def token_ok(expected: str, authorization: str) -> bool:
    """The Authorization header carries `Bearer <expected>` (compared in constant time)."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              expected.encode())


def address_ok(allow: str, remote_addr: str | None) -> bool:
    """The client's address is inside one of the allowed networks."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in _networks(allow))


def metrics_refusal(config, authorization: str, remote_addr: str | None) -> int | None:
    """None when this request may read /metrics, else the HTTP status that refuses it:
    404 (metrics are off), 401 (wrong or missing token), 403 (address not allowed)."""
    token, allow = config.get("METRICS_TOKEN", ""), config.get("METRICS_ALLOW", "")
    if not token and not allow:
        return 404
    if token and not token_ok(token, authorization):
        return 401
    if allow and not address_ok(allow, remote_addr):
        return 403
    return None
