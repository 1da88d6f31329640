"""Confirmation requests and their answers (the appointment's confirmation status)."""

from sqlalchemy import update

from core.appointments.models import Appointment, ConfirmationStatus
from core.extensions import db
from core.types import utcnow


def mark_requested(appointment_ids: list[int]) -> None:
    """A confirmation request is going to these appointments' clients: they await a reply.

    The caller commits (with the send that asks)."""
    if not appointment_ids:
        return
    db.session.execute(
        update(Appointment).where(Appointment.id.in_(appointment_ids))
        .values(confirmation_status=ConfirmationStatus.AWAITING,
                confirmation_requested_at=utcnow())
    )
