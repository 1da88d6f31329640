"""Jobs of the phone simulator."""

import logging

from sqlalchemy import select

from core.extensions import db
from core.simulator.models import SimMessage

log = logging.getLogger(__name__)


def deliver_receipt(provider_id: str) -> None:
    """Job: report that the simulated handset received the message, as a receipt webhook would."""
    from core.messaging.receipts import apply_receipt  # the delivery pipeline's; loaded late

    on_phone = db.session.scalar(select(SimMessage).where(SimMessage.provider_id == provider_id))
    if on_phone is None:
        # The send was rolled back before it committed: the phone never got it.
        log.info("no simulated message %s; no receipt", provider_id)
        return
    # The client reference lets a message whose send outcome was unknown settle too.
    apply_receipt(provider="simulator", provider_id=provider_id, status="delivered", code="0",
                  detail="Delivered to handset", client_ref=on_phone.client_ref)
    db.session.commit()
