"""Conversation state per client and the appointment answers clients text back."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.messaging.models import PendingInbound  # noqa: F401  (moved there; still importable here)
from core.types import BigId, UTCDateTime, utcnow


class Conversation(db.Model):
    """Staff-side state of one client's thread: who handles it and whether it is closed.

    The messages themselves stay in `messages`; unread is `read_at IS NULL` on inbound rows.
    """

    __tablename__ = "conversations"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           primary_key=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Put in front of staff (migration 0014_confirm_flags): a declined appointment or an
    # answer to a confirmation request that is not YES/NO. Closing the thread clears it.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flag_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class AppointmentAnswer(db.Model):
    """A client's YES or NO to an appointment, given by text; answered means not pending."""

    __tablename__ = "appointment_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL")
    )
    answer: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
