"""Automation's reactions to appointment changes: a reschedule or a cancellation stops what
was queued for the old time and frees its key, so the new time is planned afresh."""

from sqlalchemy import select, update

from core.appointments import signals
from core.appointments.models import AppointmentStatus
from core.automation.models import AutomationSend, SendStatus
from core.extensions import db
from core.messaging.pipeline import cancel_messages
from core.messaging.transitions import MESSAGES

SENDS = AutomationSend.__table__


def connect(app=None) -> None:
    """Connect the handlers (idempotent: blinker keeps one connection per function)."""
    signals.changed.connect(on_changed, weak=False)


def on_changed(appointment, changes: dict, actor=None) -> None:
    """Reschedule → cancel what was queued for the old start; cancelled → cancel it all."""
    if "start_at" in changes:
        cancel_planned(appointment.id, changes["start_at"][0], "Rescheduled", actor)
    if changes.get("status", [None, None])[1] == AppointmentStatus.CANCELLED:
        cancel_planned(appointment.id, appointment.start_at, "Appointment cancelled", actor)


def cancel_planned(appointment_id: int, start, reason: str, actor=None) -> int:
    """Cancel the queued automated messages of one appointment at `start` and mark their
    keys cancelled; the caller commits. Returns how many messages were stopped."""
    broadcasts = list(db.session.scalars(
        update(SENDS)
        .where(SENDS.c.appointment_id == appointment_id, SENDS.c.appointment_start == start,
               SENDS.c.status == SendStatus.PLANNED.value)
        .values(status=SendStatus.CANCELLED.value)
        .returning(SENDS.c.broadcast_id)))
    broadcasts = [b for b in broadcasts if b is not None]
    if not broadcasts:
        return 0
    return cancel_messages((MESSAGES.c.appointment_id == appointment_id)
                           & MESSAGES.c.broadcast_id.in_(broadcasts), actor=actor, reason=reason)


def planned_for(appointment_id: int) -> list[AutomationSend]:
    """The live keys of one appointment (for its page)."""
    return list(db.session.scalars(select(AutomationSend).where(
        AutomationSend.appointment_id == appointment_id,
        AutomationSend.status == SendStatus.PLANNED.value)))
