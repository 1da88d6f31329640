"""Secure messages plug into the messaging pipeline through its signals (core.messaging.signals)."""

from core.messaging import signals
from core.secure import lifecycle, operations


def connect(app) -> None:
    """Connect the secure-message receivers (idempotent: blinker keeps one per function)."""
    signals.broadcast_checking.connect(_check)
    signals.broadcast_preparing.connect(_prepare)
    signals.broadcast_planning.connect(_plan)
    signals.message_sending.connect(_mint)
    signals.sweeping.connect(_purge)


def _check(channel, *, feature: str, options: dict):
    """Compose: validate the secure options of a send (SecureError is a ValueError)."""
    if feature != "secure":
        return None
    return operations.check_request(channel, options.get("pin", ""),
                                    options.get("lifetime_hours"), options.get("require_pin"))


def _prepare(broadcast, *, options: dict, uploads):
    """Compose: seal the text and files of a secure send; the files are ours."""
    if "secure" not in options:
        return None
    operations.prepare_broadcast(broadcast, options["secure"], uploads)
    return True


def _plan(broadcast):
    """Fan-out: a secure send's recipients get notices with links instead of the text."""
    if not (broadcast.options or {}).get("secure"):
        return None
    return operations.secure_plan(broadcast)


def _mint(due, *, subject: str, body: str):
    """Delivery: a notice's link token is minted as it leaves, never stored."""
    if "/s/" not in body:  # not a notice (the slot sits in the link's path)
        return None
    return operations.mint_link(due)


def _purge(now):
    """Sweeper: purge secure content past expiry whose purge job was lost."""
    return {"secure_purged": lifecycle.purge_expired(now)}
