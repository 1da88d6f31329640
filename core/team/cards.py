"""The live card of a client conversation shared into a chat: its latest text, read or not."""

from dataclasses import dataclass

from sqlalchemy import select

from core.extensions import db
from core.messaging.models import Direction, Message


@dataclass(frozen=True)
class Last:
    """The latest text of a client's thread as the card shows it."""

    direction: str
    body: str
    unread: bool


def client_last(client_id: int) -> Last | None:
    """The newest message of the client's thread, or None."""
    message = db.session.scalar(select(Message).where(Message.client_id == client_id)
                                .order_by(Message.id.desc()).limit(1))
    if message is None:
        return None
    inbound = message.direction == Direction.IN
    return Last("inbound" if inbound else "outbound", message.body or "",
                inbound and message.read_at is None)
