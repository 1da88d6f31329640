"""A secure message (one per recipient) and the encrypted files of a secure broadcast."""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow


class SecureMessage(db.Model):
    """Encrypted content one recipient opens through a link; only metadata survives a purge."""

    __tablename__ = "secure_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL"), index=True)  # the latest notice
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(8))
    to_addr: Mapped[str] = mapped_column(String(254), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex of the token
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str | None] = mapped_column(Text)  # Fernet token of {"subject", "body"}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pin_failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL"))
    link_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resent_count: Mapped[int] = mapped_column(default=0)

    def usable(self, now: datetime) -> bool:
        """True while the link may still open: not expired, locked, revoked or purged."""
        return (self.content is not None and self.purged_at is None and self.locked_at is None
                and self.revoked_at is None and self.expires_at > now)


class SecureFile(db.Model):
    """One attachment of a secure broadcast, stored encrypted in the database."""

    __tablename__ = "secure_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(default=0)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet token; None once purged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
