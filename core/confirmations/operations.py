"""Confirmation requests and their answers (the appointment's confirmation status).

A request marks appointments Awaiting reply (`mark_requested`, called by the sender in the
transaction that writes the send) and, when the client then awaits several, gives each new
one a short code the text carries ("Reply YES 2"). Answers by text (core.conversations), a
change by hand (`change`) and the no-response expiry (`expire`) all go through `set_status`,
which audits the change on the appointment and its client.
"""

from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import and_, func, literal, select, update

from core import settings
from core.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus
from core.audit.models import AuditEvent
from core.audit.operations import record
from core.bulk import id_in
from core.extensions import db
from core.messaging.transitions import write_audits
from core.types import UTCDateTime, utcnow

AWAITS = (ConfirmationStatus.AWAITING, ConfirmationStatus.UNRECOGNISED)  # still unanswered
CHUNK = 5_000  # ids per statement (SQLite allows 32,766 bound values)
NO_RESPONSE_BATCH = 1_000  # appointments expired per statement
# The colour of each status in the Appointments list and the Message Center.
COLOURS = {
    ConfirmationStatus.CONFIRMED: "green", ConfirmationStatus.AWAITING: "yellow",
    ConfirmationStatus.UNRECOGNISED: "yellow", ConfirmationStatus.DECLINED: "red",
    ConfirmationStatus.NO_RESPONSE: "grey", ConfirmationStatus.NOT_REQUESTED: "grey",
}


class ConfirmationError(ValueError):
    """A refused change, with a message fit to show."""


def awaiting_now(now: datetime):
    """SQL: an appointment whose confirmation request still waits for YES or NO."""
    return and_(Appointment.confirmation_status.in_(AWAITS), Appointment.start_at > now,
                Appointment.status != AppointmentStatus.CANCELLED)


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


# ---- requests ------------------------------------------------------------------------------


def mark_requested(appointment_ids: list[int], now: datetime | None = None,
                   to: str | None = None) -> None:
    """A confirmation request is going to these appointments' clients (or to another contact's
    mobile `to`, whose YES/NO then answers it): they await a reply.

    The caller commits (with the send that asks)."""
    ids = list(dict.fromkeys(int(i) for i in appointment_ids))
    if not ids:
        return
    now = now or utcnow()
    requested = set(ids)
    for chunk in _chunks(ids):
        among = id_in(Appointment.id, chunk)  # one array parameter on PostgreSQL
        db.session.execute(
            update(Appointment).where(among)
            .values(confirmation_status=ConfirmationStatus.AWAITING,
                    confirmation_requested_at=now, confirmation_to=to))
        _audit_requested(among, now)
        _assign_codes(among, requested, now)


def _audit_requested(among, now: datetime) -> None:
    """One audit row per requested appointment, written by the database (INSERT … SELECT:
    a daily run may ask 100,000 appointments at once)."""
    events = AuditEvent.__table__
    db.session.execute(events.insert().from_select(
        ["at", "action", "summary", "client_id", "appointment_id"],
        select(literal(now, UTCDateTime()), literal("appointment.awaiting"),
               literal("Confirmation requested: awaiting the client's reply"),
               Appointment.client_id, Appointment.id).where(among)))


def _audit_row(appointment_id: int, client_id: int, action: str, summary: str) -> dict:
    return {"action": action, "summary": summary, "client_id": client_id,
            "appointment_id": appointment_id, "message_id": None}


def _assign_codes(among, requested: set[int], now: datetime) -> None:
    """Code the requested appointments (`among`) of each client who now awaits more than
    one; the others carry no code. Clients with several are few: they are read first."""
    clients = select(Appointment.client_id).where(among)
    several = list(db.session.scalars(
        select(Appointment.client_id)
        .where(Appointment.client_id.in_(clients), awaiting_now(now))
        .group_by(Appointment.client_id).having(func.count() > 1)))
    stale = update(Appointment).where(among, Appointment.confirmation_code.is_not(None))
    if several:
        stale = stale.where(Appointment.client_id.not_in(several))
    db.session.execute(stale.values(confirmation_code=None))
    if not several:
        return
    rows = db.session.execute(
        select(Appointment.id, Appointment.client_id, Appointment.confirmation_code)
        .where(Appointment.client_id.in_(several), awaiting_now(now))
        .order_by(Appointment.client_id, Appointment.start_at, Appointment.id)).all()
    for _, group in groupby(rows, key=lambda r: r.client_id):
        _code_one_client(list(group), requested)


def _code_one_client(rows: list, requested: set[int]) -> None:
    """Give each requested appointment the lowest code not taken by the client's others; an
    uncoded earlier request counts as 1 (its text said bare YES; "YES 1" also means it)."""
    mine = [r for r in rows if r.id in requested]
    others = [r for r in rows if r.id not in requested]
    used = {r.confirmation_code for r in others if r.confirmation_code}
    if any(r.confirmation_code is None for r in others):
        used.add(1)
    code = 1
    for row in mine:
        new = None
        if len(rows) > 1:
            while code in used:
                code += 1
            new, code = code, code + 1
        if new != row.confirmation_code:
            db.session.execute(update(Appointment).where(Appointment.id == row.id)
                               .values(confirmation_code=new))


def ensure_codes(pending: list[Appointment]) -> None:
    """Give a code to each uncoded one of several pending appointments (to list them)."""
    used = {a.confirmation_code for a in pending if a.confirmation_code}
    code = 1
    for appointment in pending:
        if appointment.confirmation_code is None:
            while code in used:
                code += 1
            appointment.confirmation_code = code
            used.add(code)


# ---- answers -------------------------------------------------------------------------------


def awaiting(client_id: int, now: datetime | None = None,
             address: str | None = None) -> list[Appointment]:
    """The client's appointments whose confirmation request waits for an answer, and those
    whose request went to the mobile `address` (another contact's), soonest first."""
    whose = Appointment.client_id == client_id
    if address:
        whose = whose | (Appointment.confirmation_to == address)
    query = (select(Appointment)
             .where(whose, awaiting_now(now or utcnow()))
             .order_by(Appointment.start_at, Appointment.id))
    return list(db.session.scalars(query))


def pick(pending: list[Appointment], code: int | None) -> Appointment | None:
    """The appointment a YES/NO answers: the one with its code, the only one, or the only
    uncoded one (whose text asked for a bare YES); None when ambiguous or matching none."""
    uncoded = [a for a in pending if a.confirmation_code is None]
    if code is not None:
        coded = [a for a in pending if a.confirmation_code == code]
        if coded:
            return coded[0]
        return uncoded[0] if code == 1 and len(uncoded) == 1 else None
    if len(pending) == 1:
        return pending[0]
    return uncoded[0] if len(uncoded) == 1 else None


def set_status(appointment: Appointment, status: ConfirmationStatus, summary: str, *,
               actor=None, message_id=None, action: str | None = None,
               by_client=None) -> bool:
    """Change an appointment's confirmation status and audit it; False when unchanged.

    `by_client`: the client whose text answered (credited on the history). The caller
    commits."""
    old, status = ConfirmationStatus(appointment.confirmation_status), ConfirmationStatus(status)
    if old == status:
        return False
    appointment.confirmation_status = status
    record(action or f"appointment.{status.value}",
           f"Confirmation {old.label} → {status.label}: {summary}", actor=actor,
           client_id=appointment.client_id, appointment_id=appointment.id,
           message_id=message_id, data={"from": old.value, "to": status.value},
           by_client=by_client)
    return True


def mark_unrecognised(client_id: int, message_id: int, now: datetime | None = None,
                      address: str | None = None) -> int:
    """The client (or the contact at `address`) answered a request with something that is not
    YES or NO: every request still awaiting is Unrecognised (staff read it); returns how
    many. The caller commits."""
    pending = [a for a in awaiting(client_id, now, address)
               if a.confirmation_status == ConfirmationStatus.AWAITING]
    for appointment in pending:
        set_status(appointment, ConfirmationStatus.UNRECOGNISED,
                   "the client's reply is not YES or NO", message_id=message_id)
    return len(pending)


def change(appointment_id: int, status: str, reason: str, *, actor) -> Appointment:
    """A staff member sets the status by hand, with the reason (audited); the caller commits."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise ConfirmationError("That appointment no longer exists.")
    try:
        new = ConfirmationStatus(status)
    except ValueError:
        raise ConfirmationError("Choose a confirmation status.") from None
    reason = " ".join((reason or "").split())
    if not reason:
        raise ConfirmationError("Say why the confirmation status changes.")
    if not set_status(appointment, new, f"changed by hand ({reason})"[:400], actor=actor,
                      action="appointment.confirmation_changed"):
        raise ConfirmationError(f"The confirmation status is already {new.label}.")
    return appointment


# ---- no response ---------------------------------------------------------------------------


def expire(now: datetime | None = None) -> int:
    """Requests unanswered after the configured hours, or whose appointment has started,
    become No response (audited); commits; returns how many."""
    now = now or utcnow()
    hours = settings.get("confirmation_timeout_hours")
    overdue = Appointment.start_at <= now
    if hours and hours > 0:
        overdue = overdue | (Appointment.confirmation_requested_at <= now - timedelta(hours=hours))
    total = 0
    while rows := db.session.execute(
            select(Appointment.id, Appointment.client_id)
            .where(Appointment.confirmation_status == ConfirmationStatus.AWAITING, overdue)
            .limit(NO_RESPONSE_BATCH)).all():
        ids = [r.id for r in rows]
        db.session.execute(update(Appointment).where(
            Appointment.id.in_(ids), Appointment.confirmation_status == ConfirmationStatus.AWAITING)
            .values(confirmation_status=ConfirmationStatus.NO_RESPONSE))
        write_audits([_audit_row(r.id, r.client_id, "appointment.no_response",
                                 "Confirmation Awaiting reply → No response: no answer in time")
                      for r in rows])
        db.session.commit()
        total += len(rows)
    return total


# ---- reading -------------------------------------------------------------------------------


def statuses_of(appointment_ids) -> dict[int, str]:
    """The confirmation status of each appointment id, in one query (none without ids)."""
    ids = list({int(i) for i in appointment_ids if i})
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Appointment.id, Appointment.confirmation_status)
        .where(Appointment.id.in_(ids[:CHUNK]))).all())
