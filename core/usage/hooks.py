"""Usage plugs into the messaging pipeline (core.messaging.signals): every Compose send is
counted against its category's monthly quota before it commits."""

from core.messaging import signals
from core.messaging.models import Category
from core.usage import quotas


def connect(app) -> None:
    """Connect the usage receivers (idempotent: blinker keeps one per function)."""
    signals.broadcast_reserving.connect(_reserve)


def _reserve(broadcast, *, summary) -> None:
    """Count the send in its category (QuotaExceeded, a ValueError, refuses it)."""
    category = (broadcast.options or {}).get("category") or Category.TRANSACTIONAL.value
    quotas.reserve(category, summary.sendable, quotas.estimate_spend(summary))
