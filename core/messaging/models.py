"""Broadcasts (one compose action), messages (one per recipient) and their status history."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow


class Channel(enum.StrEnum):
    SMS = "sms"
    MMS = "mms"
    EMAIL = "email"
    VOICE = "voice"


class Direction(enum.StrEnum):
    OUT = "out"
    IN = "in"


class Status(enum.StrEnum):
    """Life of a message: queued → sending → sent → delivered, or a final failure state."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    RECONCILE = "reconcile"
    RECEIVED = "received"

    @property
    def final(self) -> bool:
        return self not in {Status.QUEUED, Status.SENDING, Status.RECONCILE}


class Category(enum.StrEnum):
    """Why a message goes out (migration 0019_usage): the rules and quotas differ by it."""

    TRANSACTIONAL = "transactional"  # reminders, confirmations, status texts, secure notices
    MARKETING = "marketing"  # promotions, newsletters: consent and the strict window apply
    DIRECT = "direct"  # a staff member's reply in a conversation


class BroadcastStatus(enum.StrEnum):
    """Life of a broadcast: pending/scheduled → sending (fan-out took it) → sent, or cancelled."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class Broadcast(db.Model):
    """One compose action: a template, its channel, its recipients and when it goes."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[dict] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total: Mapped[int] = mapped_column(default=0)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Delivery pipeline (migration 0002_delivery): when a fan-out took the broadcast (refreshed
    # while it runs) and when it finished creating the messages.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Message(db.Model):
    """One message to or from one address; the database is the source of truth."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_status_send_at", "status", "send_at"),
        Index("ix_messages_direction_id", "direction", "id"),
        Index("ix_messages_appointment_id", "appointment_id", "id"),
        Index("ix_messages_client_id", "client_id", "id"),
        # Mailbox (migration 0002_mailbox): replies to messages typed to a bare number.
        Index("ix_messages_to_addr", "to_addr", "id"),
        # One row per provider message id: replayed inbound webhooks store nothing twice.
        Index("uq_messages_provider_provider_id", "provider", "provider_id", unique=True),
        # Outbox search (migration 0006_outbox_search, PostgreSQL only): trigram indexes serve
        # "contains" (ILIKE '%…%'). Both are partial, so a mass send and its status updates
        # never write to them: a broadcast's messages are found by the broadcast's text, and
        # a client's messages by the client, so only the rest need their own text indexed.
        Index("ix_messages_text_trgm", "body", "subject", postgresql_using="gin",
              postgresql_ops={"body": "gin_trgm_ops", "subject": "gin_trgm_ops"},
              postgresql_where=text("broadcast_id IS NULL")).ddl_if(dialect="postgresql"),
        # Unread inbound texts (migration 0022_usage_rollup): every page's Conversations badge
        # counts them; the partial index holds only those, not the whole inbound history.
        Index("ix_messages_unread_inbound", "client_id",
              postgresql_where=text("direction = 'in' AND read_at IS NULL"),
              sqlite_where=text("direction = 'in' AND read_at IS NULL")),
        Index("ix_messages_address_trgm", "to_addr", "from_addr", postgresql_using="gin",
              postgresql_ops={"to_addr": "gin_trgm_ops", "from_addr": "gin_trgm_ops"},
              postgresql_where=text("client_id IS NULL")).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    direction: Mapped[str] = mapped_column(String(3), default=Direction.OUT)
    channel: Mapped[str] = mapped_column(String(8))
    to_addr: Mapped[str] = mapped_column(String(254))
    from_addr: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=Status.QUEUED)
    reason: Mapped[str] = mapped_column(String(300), default="")
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider: Mapped[str] = mapped_column(String(20), default="")
    provider_id: Mapped[str | None] = mapped_column(String(80), index=True)
    segments: Mapped[int] = mapped_column(default=0)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Delivery pipeline (migration 0002_delivery): a retry is not due before next_attempt_at;
    # a job holds a queued message until held_until (past it the sweeper re-enqueues it);
    # claimed_at is when the current attempt took it to "sending".
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Usage (migration 0019_usage): transactional, marketing or direct (Category). Only a
    # server default, so the pipeline's prebuilt Core inserts need not name it.
    category: Mapped[str] = mapped_column(String(16),
                                          server_default=Category.TRANSACTIONAL.value)


class MessageEvent(db.Model):
    """One status change of a message, with the provider's raw code."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")


class Setting(db.Model):
    """One business-wide setting edited by admins (secrets are stored encrypted)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON)


class MessagePart(db.Model):
    """One part of a multipart SMS, with its own provider id and delivery receipt."""

    __tablename__ = "message_parts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(default=1)
    provider_id: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(12), default=Status.SENT)
    code: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The price the provider's receipt gave for this part (migration 0016_provider).
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))


class InboundPart(db.Model):
    """One part of a long inbound text, kept until every part of its text has arrived
    (core/messaging/multipart.py); `closed` once it is in a stored message."""

    __tablename__ = "inbound_parts"
    __table_args__ = (
        Index("uq_inbound_parts_provider_id", "provider", "provider_id", unique=True),
        Index("ix_inbound_parts_open", "provider", "sender", "ref", "total", "closed"),
        Index("ix_inbound_parts_arrived", "closed", "arrived_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(80))  # the part's own id
    sender: Mapped[str] = mapped_column(String(254))
    recipient: Mapped[str] = mapped_column(String(254))
    ref: Mapped[str] = mapped_column(String(40))  # the sender's concatenation reference
    total: Mapped[int] = mapped_column()
    part: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the provider's time
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # ours
    raw: Mapped[dict | None] = mapped_column(JSON)
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL"))
    closed: Mapped[bool] = mapped_column(default=False)


class PendingInbound(db.Model):
    """An inbound message stored but not yet handled (the inbound drain's queue).

    The webhook writes this row with the message; the drain job claims rows (held_until),
    handles them, and deletes each row in the commit that marks its message processed, so
    the table holds only work that is due: the sweeper re-triggers whatever waits too long.
    """

    __tablename__ = "inbound_queue"

    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
