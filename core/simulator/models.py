"""What each simulated phone or mailbox received and sent."""

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow


class SimMessage(db.Model):
    """A text, email or call as the simulated device saw it."""

    __tablename__ = "sim_messages"
    __table_args__ = (Index("ix_sim_messages_address", "address", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(8))
    incoming: Mapped[bool] = mapped_column(default=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    media_url: Mapped[str] = mapped_column(String(500), default="")
    provider_id: Mapped[str] = mapped_column(String(80), unique=True)
    client_ref: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who the phone saw as the sender (the business number or address); replies go back to it.
    sender: Mapped[str] = mapped_column(String(254), default="")
    # Every picture, attachment or recording; media_url keeps the first for a quick look.
    media: Mapped[list] = mapped_column(JSON, default=list)

    @property
    def is_email(self) -> bool:
        return self.channel == "email"
