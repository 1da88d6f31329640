"""Message templates, automation rules and the exactly-once record of what a rule planned."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow


class TemplateKind(enum.StrEnum):
    """What a template is for."""

    REMINDER = "reminder"
    CONFIRMATION = "confirmation"
    EN_ROUTE = "en_route"
    WORKING = "working"
    THANK_YOU = "thank_you"
    GENERAL = "general"

    @property
    def label(self) -> str:
        return {"confirmation": "Confirmation request", "en_route": "En Route",
                "thank_you": "Thank You / follow-up"}.get(self.value, self.value.title())


class RuleKind(enum.StrEnum):
    """What a rule does."""

    REMINDER = "reminder"
    CONFIRMATION = "confirmation"
    FOLLOW_UP = "follow_up"
    STATUS = "status"

    @property
    def label(self) -> str:
        return {"confirmation": "Confirmation request", "follow_up": "Follow-up / Thank you",
                "status": "Status text"}.get(self.value, self.value.title())


class Timing(enum.StrEnum):
    """When a rule's message is due."""

    DAYS_BEFORE = "days_before"  # daily at send_time, for appointments `amount` local days on
    HOURS_BEFORE = "hours_before"  # `amount` hours before the start
    HOURS_AFTER = "hours_after"  # `amount` hours after completion (else the end)
    ON_STATUS = "on_status"  # at once, when the status changes to status_trigger


class SendStatus(enum.StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class MessageTemplate(db.Model):
    """A named, reusable message: channel, subject (email) and a merge-field body."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("name", name="uq_message_templates_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default=TemplateKind.GENERAL)
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def kind_enum(self) -> TemplateKind:
        return TemplateKind(self.kind)


class AutomationRule(db.Model):
    """Kind + template + who (filters) + when (timing) + on/off."""

    __tablename__ = "automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id"), index=True)
    staff: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    title_contains: Mapped[str] = mapped_column(String(160), default="")
    timing: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(default=0)
    send_time: Mapped[str] = mapped_column(String(5), default="09:00")  # business zone, HH:MM
    after: Mapped[str] = mapped_column(String(10), default="completed")  # or "end"
    status_trigger: Mapped[str] = mapped_column(String(16), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    # Migration 0021_auto_completed: a run that would exceed a monthly quota pauses the rule
    # (nothing of that run is sent) until an Admin resumes it.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    template: Mapped[MessageTemplate] = relationship(lazy="joined")

    @property
    def kind_enum(self) -> RuleKind:
        return RuleKind(self.kind)


class AutomationSend(db.Model):
    """"This rule planned a message for this appointment at this start": the exactly-once key."""

    __tablename__ = "automation_sends"
    # The key leads with the appointment, so it also serves "what is planned for this
    # appointment" (reschedules). Few indexes and no foreign key to broadcasts on purpose: a
    # daily run inserts 100,000 rows in one statement, and each index or FK check costs
    # about a second there (bench/README.md, automation).
    __table_args__ = (
        UniqueConstraint("appointment_id", "rule_id", "appointment_start",
                         name="uq_automation_sends_key"),
        Index("ix_automation_sends_rule_broadcast", "rule_id", "broadcast_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"))
    appointment_start: Mapped[datetime] = mapped_column(UTCDateTime)
    broadcast_id: Mapped[int | None] = mapped_column(BigId)  # the run that planned it
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=SendStatus.PLANNED)
