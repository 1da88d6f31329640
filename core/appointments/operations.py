"""Creating, editing, filtering and listing appointments; their message counts."""

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from core import paging
from core.appointments.models import Appointment, AppointmentStatus, completion_time
from core.appointments.signals import changed
from core.audit.operations import record
from core.clients.models import Client
from core.clients.operations import search_condition
from core.extensions import db
from core.messaging.models import Direction, Message

DEFAULT_DAYS = 14


class AppointmentError(ValueError):
    """An appointment could not be saved; `field` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class AppointmentData:
    """What staff can set on an appointment; times are timezone-aware."""

    client_id: int
    start_at: datetime
    end_at: datetime
    title: str
    staff: str = ""
    location: str = ""
    status: str = AppointmentStatus.SCHEDULED
    job_number: str = ""


@dataclass
class Filters:
    """What the appointment list shows: local dates (inclusive), a search text, a status."""

    start: date
    end: date
    text: str = ""
    status: str = ""
    confirmation: str = ""  # a ConfirmationStatus value, or "" for any


def business_zone() -> ZoneInfo:
    """The business's time zone, in which staff read and type times."""
    return ZoneInfo(current_app.config["BUSINESS_TIMEZONE"])


def today() -> date:
    """Today's date in the business's time zone."""
    return datetime.now(business_zone()).date()


def default_filters() -> Filters:
    """Today and the next two weeks, every status."""
    start = today()
    return Filters(start=start, end=start + timedelta(days=DEFAULT_DAYS))


def from_local(wall: datetime, zone: ZoneInfo | None = None, field: str = "start_at") -> datetime:
    """A wall-clock time typed in the business zone as aware UTC; refuses skipped times."""
    zone = zone or business_zone()
    utc = wall.replace(tzinfo=zone).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise AppointmentError(field, f"{wall:%H:%M} on {wall:%d %b} does not exist in "
                               f"{zone.key} (the clocks change).")
    return utc


def to_local(moment: datetime | None, zone: ZoneInfo | None = None) -> datetime | None:
    """An aware datetime shown in the business zone."""
    return None if moment is None else moment.astimezone(zone or business_zone())


def get(appointment_id: int) -> Appointment | None:
    """The appointment with this id (its client loaded), or None."""
    return db.session.get(Appointment, appointment_id)


def existing_ids(ids) -> set[int]:
    """Those of `ids` that are appointments."""
    ids = {int(i) for i in ids}
    if not ids:
        return set()
    return set(db.session.scalars(select(Appointment.id).where(Appointment.id.in_(ids))))


def create_appointment(data: AppointmentData, *, actor=None) -> Appointment:
    """Validate and add an appointment, audited on it and its client; the caller commits."""
    values = _clean(data)
    appointment = Appointment(**values,
                              completed_at=completion_time(values["status"], values["end_at"]))
    db.session.add(appointment)
    db.session.flush()
    record("appointment.created", f"Appointment “{appointment.title}” created",
           actor=actor, client_id=appointment.client_id, appointment_id=appointment.id)
    return appointment


def update_appointment(appointment: Appointment, data: AppointmentData, *, actor=None) -> dict:
    """Validate and apply changes, audited as "appointment.edited"; returns {field: [old, new]}."""
    values = _clean(data)
    changes = {
        k: [getattr(appointment, k), v] for k, v in values.items() if getattr(appointment, k) != v
    }
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        if key == "status":
            appointment.mark_status(new)
        else:
            setattr(appointment, key, new)
    shown = {k: [_show(o), _show(n)] for k, (o, n) in changes.items()}
    summary = "Edited " + "; ".join(f"{k}: {o} → {n}" for k, (o, n) in shown.items())
    record("appointment.edited", summary, actor=actor, client_id=appointment.client_id,
           appointment_id=appointment.id, data={"changes": shown})
    changed.send(appointment, changes=changes, actor=actor)
    return changes


def set_status(appointment: Appointment, status: str, *, actor=None,
               now: datetime | None = None) -> bool:
    """Change the status, audited as "appointment.status" old → new; False when unchanged."""
    new = _status(status)
    old = appointment.status_enum
    if new == old:
        return False
    appointment.mark_status(new.value, now)
    record("appointment.status", f"Status {old.label} → {new.label}", actor=actor,
           client_id=appointment.client_id, appointment_id=appointment.id,
           data={"old": old.value, "new": new.value})
    changed.send(appointment, changes={"status": [old.value, new.value]}, actor=actor)
    return True


def _show(value) -> str:
    if isinstance(value, datetime):
        return f"{to_local(value):%Y-%m-%d %H:%M}"
    return "—" if value in (None, "") else str(value)


def _status(value: str) -> AppointmentStatus:
    try:
        return AppointmentStatus(value)
    except ValueError:
        raise AppointmentError("status", "Choose a status from the list.") from None


def _clean(data: AppointmentData) -> dict:
    """Normalise and check every field, raising AppointmentError for the first bad one."""
    values = {f.name: getattr(data, f.name) for f in fields(AppointmentData)}
    for key in ("title", "staff", "location", "job_number"):
        values[key] = (values[key] or "").strip()
    if db.session.get(Client, values["client_id"] or 0) is None:
        raise AppointmentError("client_id", "Choose a client.")
    if not values["title"]:
        raise AppointmentError("title", "Enter a title or service.")
    if values["start_at"] is None or values["end_at"] is None:
        raise AppointmentError("start_at", "Enter the start and the end.")
    if values["end_at"] <= values["start_at"]:
        raise AppointmentError("end_at", "The end must be after the start.")
    values["status"] = _status(values["status"] or AppointmentStatus.SCHEDULED).value
    values["job_number"] = values["job_number"] or None
    return values


APPOINTMENT_KEYS = (Appointment.start_at, Appointment.id)
APPOINTMENT_KEY_TYPES = (datetime.fromisoformat, int)


def filtered(filters: Filters):
    """The SELECT of appointments (with clients) that match `filters`, unsorted."""
    zone = business_zone()
    # Lenient on purpose: in a few zones midnight is skipped, and a filter must not fail.
    start = datetime.combine(filters.start, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(filters.end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    query = (
        select(Appointment)
        .join(Appointment.client)
        .options(contains_eager(Appointment.client))
        .where(Appointment.start_at >= start, Appointment.start_at < end)
    )
    if filters.status:
        query = query.where(Appointment.status == filters.status)
    if filters.confirmation:
        query = query.where(Appointment.confirmation_status == filters.confirmation)
    text = (filters.text or "").strip()
    if text:
        query = query.where(
            or_(
                search_condition(text),
                Appointment.title.icontains(text, autoescape=True),
                Appointment.job_number.icontains(text, autoescape=True),
            )
        )
    return query


def list_appointments(filters: Filters, *, after: str | None = None, before: str | None = None,
                      size: int = 25) -> paging.Page:
    """One page of matching appointments in start order (keyset on start time and id)."""
    return paging.keyset(
        filtered(filters),
        APPOINTMENT_KEYS,
        lambda a: (a.start_at, a.id),
        after=paging.decode(after, APPOINTMENT_KEY_TYPES),
        before=paging.decode(before, APPOINTMENT_KEY_TYPES),
        size=size,
    )


def message_counts(appointment_ids) -> dict[int, int]:
    """Outbound messages per appointment, for a whole page in one grouped query."""
    ids = list(appointment_ids)
    if not ids:
        return {}
    query = (
        select(Message.appointment_id, func.count(Message.id))
        .where(Message.appointment_id.in_(ids), Message.direction == Direction.OUT)
        .group_by(Message.appointment_id)
    )
    return {appointment_id: n for appointment_id, n in db.session.execute(query)}


def messages_of(appointment_id: int, limit: int = 50) -> list[Message]:
    """The appointment's newest messages, newest first."""
    query = (
        select(Message)
        .where(Message.appointment_id == appointment_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def of_client(client_id: int, limit: int = 50) -> list[Appointment]:
    """The client's appointments, latest start first."""
    query = (
        select(Appointment)
        .where(Appointment.client_id == client_id)
        .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def same_job(appointment: Appointment, limit: int = 20) -> list[Appointment]:
    """The other appointments that share this one's job number, in start order."""
    if not appointment.job_number:
        return []
    query = (
        select(Appointment)
        .where(Appointment.job_number == appointment.job_number, Appointment.id != appointment.id)
        .order_by(Appointment.start_at, Appointment.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))
