"""One audit event: who did what to which appointment or client, and when."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth.models import User
from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow

BY_CLIENT, BY_NAME = "by_client", "by_client_name"  # data keys: a client's own text did this
CLIENT_WROTE = "message.received"  # a text or email from the client (core/messaging/inbound)


class AuditEvent(db.Model):
    """A state change a person would ask about later."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_client", "client_id", "id"),
        Index("ix_audit_appointment", "appointment_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(500), default="")
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship(lazy="joined")
    # Read only for a client's own texts (below); a history is one client's, so one query.
    client = relationship("Client", lazy="select", viewonly=True)

    @property
    def by(self) -> str:
        """Who did it: the staff member, the client who texted (by name), or "System"."""
        if self.actor is not None:
            return self.actor.name
        name = (self.data or {}).get(BY_NAME) if isinstance(self.data, dict) else None
        if name:
            return f"{name} (client, by text)"
        if self.action == CLIENT_WROTE and self.client_id and self.client is not None:
            return f"{self.client.name} (client)"
        return "System"
