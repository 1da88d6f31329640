"""Recording and reading audit history."""

from sqlalchemy import or_, select

from core.audit.models import BY_CLIENT, BY_NAME, AuditEvent
from core.extensions import db


def record(action: str, summary: str = "", *, actor=None, client_id=None,
           appointment_id=None, message_id=None, data=None, by_client=None) -> AuditEvent:
    """Add an audit event to the session; the caller commits with its own change.

    `by_client`: the client whose own text did this (a YES, NO, STOP or START); the history
    credits them by name instead of "System"."""
    if by_client is not None:
        data = {**(data or {}), BY_CLIENT: by_client.id, BY_NAME: by_client.name}
    event = AuditEvent(
        action=action,
        summary=summary[:500],
        actor_id=getattr(actor, "id", actor),
        client_id=client_id,
        appointment_id=appointment_id,
        message_id=message_id,
        data=data,
    )
    db.session.add(event)
    return event


def history(*, client_id=None, appointment_id=None, limit: int = 100) -> list[AuditEvent]:
    """The newest events of one client (including their appointments) or one appointment."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if appointment_id is not None:
        query = query.where(AuditEvent.appointment_id == appointment_id)
    elif client_id is not None:
        query = query.where(or_(AuditEvent.client_id == client_id))
    return list(db.session.scalars(query))
