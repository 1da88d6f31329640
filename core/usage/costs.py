"""What messages cost: a broadcast's total so far (actual prices where reported, else the
estimate stored at send)."""

from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.messaging.models import Message


def broadcast_cost(broadcast_id: int) -> Decimal | None:
    """The summed cost of a broadcast's messages so far (None while none is priced)."""
    query = select(func.sum(Message.cost)).where(Message.broadcast_id == broadcast_id)
    return db.session.scalar(query)
