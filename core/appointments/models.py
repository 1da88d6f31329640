"""An appointment (a visit, a job) of one client."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clients.models import DIRECT, TRIGRAMS, Client
from core.extensions import db
from core.types import UTCDateTime, utcnow


class AppointmentStatus(enum.StrEnum):
    """Where an appointment stands."""

    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    WORKING = "working"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


class ConfirmationStatus(enum.StrEnum):
    """Where the client's confirmation of an appointment stands."""

    NOT_REQUESTED = "not_requested"
    AWAITING = "awaiting"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"
    UNRECOGNISED = "unrecognised"

    @property
    def label(self) -> str:
        return {"awaiting": "Awaiting reply"}.get(self.value, self.value.replace("_", " ").title())


class Appointment(db.Model):
    """A visit of one client; several visits may share a job number."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_start_id", "start_at", "id"),
        Index("ix_appointments_confirmation_status", "confirmation_status", "start_at"),
        # Outbox search by job number (migration 0009_client_search, PostgreSQL only): a
        # trigram index serves its ILIKE '%…%'.
        Index("ix_appointments_job_number_trgm", "job_number", postgresql_using="gin",
              postgresql_ops={"job_number": TRIGRAMS},
              postgresql_with=DIRECT).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(160))
    staff: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.SCHEDULED)
    job_number: Mapped[str | None] = mapped_column(String(40), index=True)
    external_uid: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Confirmations (migration 0011_confirmation_status): the client's answer to a
    # confirmation request, when it was asked, and the short code ("YES 2") the request
    # carried when the client had another one pending.
    confirmation_status: Mapped[str] = mapped_column(
        String(16), default=ConfirmationStatus.NOT_REQUESTED,
        server_default=ConfirmationStatus.NOT_REQUESTED.value)
    confirmation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation_code: Mapped[int | None] = mapped_column()
    # Migration 0021_auto_completed: when the appointment became Completed (follow-ups count
    # from it; cleared when the status leaves Completed), and the other contact's mobile the
    # latest confirmation request went to (that number's YES/NO answers it; None: the client's).
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation_to: Mapped[str | None] = mapped_column(String(20), index=True)

    client: Mapped[Client] = relationship(lazy="joined")

    @property
    def status_enum(self) -> AppointmentStatus:
        return AppointmentStatus(self.status)

    def mark_status(self, status: str, now: datetime | None = None) -> None:
        """Set the status; completed_at follows it (set on entering Completed, cleared on
        leaving it)."""
        if status == AppointmentStatus.COMPLETED:
            if self.status != AppointmentStatus.COMPLETED:
                self.completed_at = now or utcnow()
        else:
            self.completed_at = None
        self.status = status


def completion_time(status: str, end_at: datetime | None, now: datetime | None = None):
    """completed_at of an appointment written as Completed without a moment to go by (created
    or imported so): its end, or now when it ends later; None for any other status."""
    if status != AppointmentStatus.COMPLETED:
        return None
    now = now or utcnow()
    return min(end_at, now) if end_at is not None else now
