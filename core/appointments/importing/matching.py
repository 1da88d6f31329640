"""Checking parsed rows against the database: existing clients, appointments and duplicates."""

from sqlalchemy import func, select

from core.appointments.importing import consent
from core.appointments.importing.rows import UPDATED, Row
from core.appointments.models import Appointment
from core.clients.models import Client
from core.extensions import db

CHUNK = 500


def resolve(rows: list[Row]) -> None:
    """Match clients and appointments already in the database and flag duplicates."""
    for row in rows:  # a stored upload is checked again: only the file's own errors stay
        if row.parse_errors < 0:
            row.parse_errors = len(row.errors)
        del row.errors[row.parse_errors:]
        row.client_id, row.new_client, row.appointment_id, row.action = None, None, None, "create"
    by_mobile, by_email = _existing_clients(rows)
    by_uid = _existing_uids(rows)
    for row in rows:
        client = by_mobile.get(row.client.get("mobile")) or by_email.get(row.client.get("email"))
        row.client_id, row.client_name = (client.id, client.name) if client else (None, "")
        if not row.appointment:  # a clients-only import: existing clients are left as they are
            row.action = "unchanged" if client else "create"
            continue
        existing = by_uid.get(row.appointment.get("external_uid"))
        if existing is not None:
            row.appointment_id = existing.id
            row.action = "unchanged" if _same(existing, row) else "update"
    _group_new_clients(rows)
    _flag_repeats(rows)
    _match_existing(rows)
    consent.mark_changes(rows)


def _chunks(values) -> list[list]:
    values = sorted(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _existing_clients(rows: list[Row]) -> tuple[dict, dict]:
    """Clients of the database by E.164 mobile and by lower-case email (oldest first wins)."""
    mobiles = {row.client["mobile"] for row in rows if row.client.get("mobile")}
    emails = {row.client["email"] for row in rows if row.client.get("email")}
    by_mobile: dict[str, Client] = {}
    by_email: dict[str, Client] = {}
    for chunk in _chunks(mobiles):
        for client in db.session.scalars(
            select(Client).where(Client.mobile.in_(chunk)).order_by(Client.id)
        ):
            by_mobile.setdefault(client.mobile, client)
    for chunk in _chunks(emails):
        for client in db.session.scalars(
            select(Client).where(func.lower(Client.email).in_(chunk)).order_by(Client.id)
        ):
            by_email.setdefault(client.email.lower(), client)
    return by_mobile, by_email


def _existing_uids(rows: list[Row]) -> dict[str, Appointment]:
    uids = {row.appointment["external_uid"] for row in rows if row.appointment.get("external_uid")}
    found = {}
    for chunk in _chunks(uids):
        for appointment in db.session.scalars(
            select(Appointment).where(Appointment.external_uid.in_(chunk))
        ):
            found[appointment.external_uid] = appointment
    return found


def _same(appointment: Appointment, row: Row) -> bool:
    """True when an imported row would change nothing on its appointment."""
    return appointment.client_id == row.client_id and all(
        getattr(appointment, key) == row.appointment[key] for key in UPDATED[row.label])


def _group_new_clients(rows: list[Row]) -> None:
    """Rows of one new client (same mobile, else same email) share one `new_client` key."""
    groups: dict[str, str] = {}
    for row in rows:
        if row.client_id is not None:
            continue
        keys = [f"{kind}:{row.client[kind]}" for kind in ("mobile", "email")
                if row.client.get(kind)]
        key = next((groups[k] for k in keys if k in groups), None)
        if key is None:
            key = keys[0] if keys else f"row:{row.number}"
            if not row.client.get("first_name"):
                _no_name(row)
        for k in keys:
            groups.setdefault(k, key)
        row.new_client = key


def _no_name(row: Row) -> None:
    if row.label == "row":
        row.error("first_name", "first_name is empty (it is needed to create the new client)")
    elif row.raw.get("email"):
        row.error("client", "no client has this mobile or email, and the ATTENDEE has no name "
                            "(CN) to create one")
    elif row.client.get("mobile"):
        row.error("client", "no client has this mobile, and the event names no one to create "
                            "(add an ATTENDEE with a name, or a “Name: …” line to DESCRIPTION)")


def _flag_repeats(rows: list[Row]) -> None:
    """A row with the same client and start as an earlier row, or the same UID, is a duplicate:
    skipped when it repeats the earlier row exactly (overlapping exports), else an error."""
    seen: dict[tuple, Row] = {}
    for row in rows:
        start, uid = row.appointment.get("start_at"), row.appointment.get("external_uid")
        who = ("client", row.client_id) if row.client_id else ("new", row.new_client)
        keys = ([(who, start)] if start else []) + ([("uid", uid)] if uid else [])
        earlier = next((seen[key] for key in keys if key in seen), None)
        if earlier is not None and _repeats(earlier, row):
            row.action = "duplicate"
        elif earlier is not None:
            row.error("row", f"duplicate of {earlier.where}")
        for key in keys:
            seen.setdefault(key, row)


def _repeats(earlier: Row, row: Row) -> bool:
    return (not earlier.errors and not row.errors and earlier.client == row.client
            and earlier.appointment == row.appointment)


def _match_existing(rows: list[Row]) -> None:
    """A row whose client already has an appointment at that start updates that appointment."""
    wanted = {(row.client_id, row.appointment["start_at"]): row for row in rows
              if row.client_id and row.appointment.get("start_at") and row.action == "create"}
    if not wanted:
        return
    starts = sorted({start for _, start in wanted})
    for chunk in _chunks({client_id for client_id, _ in wanted}):
        found = db.session.scalars(select(Appointment).where(
            Appointment.client_id.in_(chunk), Appointment.start_at.in_(starts)))
        for appointment in found:
            row = wanted.get((appointment.client_id, appointment.start_at))
            if row is not None and row.appointment_id is None:
                row.appointment_id = appointment.id
                row.action = "unchanged" if _same(appointment, row) else "update"
