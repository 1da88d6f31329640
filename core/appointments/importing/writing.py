"""Writing a checked upload: bulk INSERTs of clients, appointments and their audit events."""

from sqlalchemy import insert

from core import phones
from core.appointments.importing import consent
from core.appointments.importing.rows import UPDATED, Preview, Result, Row
from core.appointments.models import Appointment, completion_time
from core.appointments.signals import changed
from core.audit.models import AuditEvent
from core.clients.models import Client
from core.extensions import db
from core.types import utcnow


def write(upload: Preview, *, actor_id: int | None) -> Result:
    """Insert the clients and appointments of a resolved, clean upload, with their audit events.

    Bulk INSERTs (not one ORM object per row): 5,000 rows must fit in one web request.
    """
    rows = upload.to_write
    clients = _insert_clients(upload)
    client_of = {id(row): row.client_id or clients[row.new_client] for row in rows}
    created = [row for row in rows if row.action == "create" and row.appointment]
    ids = _insert(Appointment, [dict(row.appointment, client_id=client_of[id(row)],
                                     completed_at=completion_time(row.appointment.get("status"),
                                                                  row.appointment["end_at"]))
                                for row in created])
    events = [_event("Client created by the import of", upload, None, client_id, None)
              for client_id in clients.values()]
    events += [_event("Imported from", upload, row, client_of[id(row)], appointment_id)
               for row, appointment_id in zip(created, ids, strict=True)]
    updated = [row for row in rows if row.action == "update"]
    for row in updated:
        appointment = db.session.get(Appointment, row.appointment_id)
        before = {key: getattr(appointment, key) for key in ("start_at", "status")}
        for key in UPDATED[row.label]:
            if key != "status":
                setattr(appointment, key, row.appointment[key])
        _set_status(appointment, row.appointment["status"])
        _announce(appointment, before, actor_id)
        appointment.client_id = client_of[id(row)]
        appointment.external_uid = appointment.external_uid or row.appointment["external_uid"]
        events.append(_event("Updated from", upload, row, client_of[id(row)], appointment.id))
    consents = consent.apply(upload.valid, _client_ids(upload.valid, clients))
    events += consents
    if events:
        db.session.execute(insert(AuditEvent), [dict({"data": None}, **event, actor_id=actor_id,
                                                     at=utcnow()) for event in events])
    return Result(created=len(created), updated=len(updated), new_clients=len(clients),
                  unchanged=upload.unchanged, consents=len(consents),
                  skipped=len(upload.skipped))


def _client_ids(rows: list[Row], clients: dict[str, int]) -> dict[int, int]:
    """The client id of each row that has one now (existing, or created by this import)."""
    ids = {id(row): row.client_id or clients.get(row.new_client) for row in rows}
    return {key: value for key, value in ids.items() if value}


def _set_status(appointment: Appointment, status: str) -> None:
    """An import that turns a visit Completed says when by its end (or now, when it ends
    later): a re-import of last month's visits sends no follow-up today."""
    was = appointment.status
    appointment.mark_status(status)
    if status != was and appointment.completed_at is not None:
        appointment.completed_at = completion_time(status, appointment.end_at)


def _announce(appointment: Appointment, before: dict, actor_id: int | None) -> None:
    """A reschedule or cancellation by import stops what automation had queued for it."""
    moved = {key: [old, getattr(appointment, key)] for key, old in before.items()
             if old != getattr(appointment, key)}
    if moved:
        changed.send(appointment, changes=moved, actor=actor_id)


def _insert(model, values: list[dict]) -> list[int]:
    """INSERT many rows at once and return their ids in the same order."""
    if not values:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, values))


def _insert_clients(upload: Preview) -> dict[str, int]:
    """One new client per `new_client` key, from the first row that names it; key -> id."""
    first: dict[str, dict] = {}
    for row in upload.to_write:
        if row.client_id is None:
            first.setdefault(row.new_client, row.client)
    values = [dict(client, timezone=phones.timezone_of(client["mobile"])
                   if client["mobile"] else None) for client in first.values()]
    return dict(zip(first, _insert(Client, values), strict=True))


def _event(what: str, upload: Preview, row: Row | None, client_id: int,
           appointment_id: int | None) -> dict:
    """The columns of one "imported" audit event (as core.audit.operations.record writes)."""
    where = f" ({row.where})" if row else ""
    return {"action": "imported", "summary": f"{what} {upload.filename}{where}"[:500],
            "client_id": client_id, "appointment_id": appointment_id}


