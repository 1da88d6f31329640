"""Calendar feeds: iCal URLs synced by a periodic job, and the appointments each one brought."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime, utcnow


class CalendarFeed(db.Model):
    """An https iCal feed (Google's secret address, an Outlook published calendar, ...)."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(2000))
    own_addresses: Mapped[str] = mapped_column(String(1000), default="")
    allow_private: Mapped[bool] = mapped_column(default=False)  # SSRF guard off (Admin's choice)
    interval_minutes: Mapped[int] = mapped_column(default=15)
    window_days: Mapped[int] = mapped_column(default=90)
    enabled: Mapped[bool] = mapped_column(default=True)
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_counts: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def is_due(self, now: datetime) -> bool:
        """True when the feed is on and its interval has passed since it was last checked."""
        if not self.enabled:
            return False
        if self.last_checked_at is None:
            return True
        return (now - self.last_checked_at).total_seconds() >= self.interval_minutes * 60


class FeedAppointment(db.Model):
    """An appointment a feed created or updated: cancelled when its event leaves the feed."""

    __tablename__ = "calendar_feed_appointments"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_feeds.id", ondelete="CASCADE"), primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True, index=True)
