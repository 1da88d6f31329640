"""The phone simulator as a provider: what it sends lands on the Simulator page.

It behaves like a real provider, deterministically, so pipelines can be tested end to end:
- a number ending in 0000, or an address starting with fail@, is refused permanently
  (code 3, as Vonage answers an invalid destination);
- an SMS without text is refused permanently (code 2, missing parameters);
- everything else is accepted and a delivery receipt follows after SIMULATOR_RECEIPT_DELAY
  seconds (default 1), through core.simulator.tasks.deliver_receipt.
"""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from redis.exceptions import RedisError

from core.extensions import db
from core.jobs import queue
from core.messaging.models import Channel
from core.messaging.segments import count
from core.providers.base import Outgoing, PermanentError, SendResult
from core.simulator.models import SimMessage

log = logging.getLogger(__name__)

# Invented prices of the same order as Vonage's US list prices; email costs nothing.
PRICES = {
    Channel.SMS: Decimal("0.0079"),  # per segment
    Channel.MMS: Decimal("0.0200"),
    Channel.VOICE: Decimal("0.0140"),
    Channel.EMAIL: Decimal("0"),
}


class SimulatorProvider:
    """Delivers to simulated phones and mailboxes stored in sim_messages."""

    name = "simulator"

    def send(self, message: Outgoing) -> SendResult:
        """Put the message on the recipient's simulated phone and schedule its receipt.

        The phone is the simulator's own storage, so its row is committed at once, as a real
        provider holds a message once it has answered (the pipeline records the send apart).
        """
        address = _refuse_or_address(message)
        media = [*message.media_urls, *([message.audio_url] if message.audio_url else [])]
        provider_id = uuid.uuid4().hex
        db.session.add(SimMessage(
            address=address, channel=message.channel, incoming=True, subject=message.subject,
            body=message.body, media_url=(media[0] if media else "")[:500], media=media,
            sender=message.sender, provider_id=provider_id, client_ref=str(message.message_id),
        ))
        db.session.commit()
        _schedule_receipt(provider_id)
        segments = count(message.body).segments if message.channel == Channel.SMS else 1
        cost = PRICES.get(message.channel, Decimal("0")) * segments
        return SendResult(provider_id=provider_id, segments=segments, cost=cost, code="0")


def _refuse_or_address(message: Outgoing) -> str:
    """The destination as the phone is keyed, or the permanent error a provider would give."""
    to = message.to.strip()
    if "@" in to:
        if to.lower().startswith("fail@"):
            raise PermanentError("Invalid destination address", code="3")
        return to.lower()
    if not to or to.endswith("0000"):
        raise PermanentError("Invalid destination number", code="3")
    if message.channel == Channel.SMS and not message.body:
        raise PermanentError("Missing message text", code="2")
    return to


def _schedule_receipt(provider_id: str) -> None:
    """Queue the handset's delivery receipt; a lost receipt is what real networks do too."""
    delay = timedelta(seconds=current_app.config.get("SIMULATOR_RECEIPT_DELAY", 1))
    try:
        queue("default").enqueue_in(delay, "core.simulator.tasks.deliver_receipt", provider_id)
    except RedisError:
        log.warning("no delivery receipt for %s: Redis is unavailable", provider_id)
