"""Importing clients and appointments from a CSV or iCal file: parse, preview, then write all.

The flow has two steps. `preview()` parses the upload, checks it against the database and,
when every row is clean, stores the parsed rows as JSON under UPLOAD_DIR/imports/<token>.json.
`confirm()` re-checks those rows (the database may have changed since) and writes them in one
transaction, or writes nothing.
"""

import csv
import io
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from icalendar import Calendar
from sqlalchemy import func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from core import phones
from core.appointments.models import Appointment, AppointmentStatus
from core.appointments.signals import changed
from core.audit.models import AuditEvent
from core.clients.models import Client, ContactMethod
from core.extensions import db
from core.types import utcnow

MAX_ROWS = 5000
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
TOKEN_TTL = timedelta(hours=24)
CHUNK = 500

REQUIRED = ("first_name", "last_name", "mobile", "email", "start", "title")
OPTIONAL = ("company", "contact_method", "end", "duration_minutes", "staff", "location",
            "job_number", "status")
COLUMNS = ("first_name", "last_name", "company", "mobile", "email", "contact_method", "start",
           "end", "duration_minutes", "title", "staff", "location", "job_number", "status")
LIMITS = {"first_name": 80, "last_name": 80, "company": 120, "email": 254, "title": 160,
          "staff": 120, "location": 200, "job_number": 40}
METHODS = {"text": ContactMethod.TEXT, "sms": ContactMethod.TEXT, "email": ContactMethod.EMAIL,
           "none": ContactMethod.DO_NOT_CONTACT, "do not contact": ContactMethod.DO_NOT_CONTACT}
CSV_TYPES = {".csv"}
ICS_TYPES = {".ics", ".ical", ".icalendar", ".ifb"}

NOT_ICAL = "This file is not an iCal (.ics) calendar."
UNKNOWN_TOKEN = ("This import is unknown, has expired or was already done. Nothing was imported; "
                 "upload the file again.")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message is fit to show the uploader."""


class ImportRowsError(ValueError):
    """Some rows are wrong (found again at confirmation); nothing was written."""

    def __init__(self, upload: "Preview"):
        super().__init__("; ".join(upload.errors))
        self.preview = upload


@dataclass
class Row:
    """One CSV row or iCal event: the text as given, the parsed values, and what is wrong."""

    number: int
    label: str = "row"
    raw: dict = field(default_factory=dict)
    client: dict = field(default_factory=dict)
    appointment: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    client_id: int | None = None
    client_name: str = ""
    new_client: str | None = None
    appointment_id: int | None = None
    action: str = "create"

    def error(self, column: str, message: str) -> None:
        """Note a problem with one column of this row."""
        self.errors.append((column, message))

    @property
    def bad_columns(self) -> set[str]:
        """The columns with an error (the preview highlights their cells)."""
        return {column for column, _ in self.errors}

    @property
    def messages(self) -> list[str]:
        return [f"{self.label} {self.number}: {message}" for _, message in self.errors]

    def to_json(self) -> dict:
        """The parsed row as JSON (datetimes as ISO strings)."""
        appointment = {k: v.isoformat() if isinstance(v, datetime) else v
                       for k, v in self.appointment.items()}
        return {"number": self.number, "label": self.label, "raw": self.raw,
                "client": self.client, "appointment": appointment}

    @classmethod
    def from_json(cls, data: dict) -> "Row":
        """A row read back from a stored upload."""
        appointment = dict(data["appointment"])
        for key in ("start_at", "end_at"):
            appointment[key] = datetime.fromisoformat(appointment[key])
        return cls(number=int(data["number"]), label=data["label"], raw=dict(data["raw"]),
                   client=dict(data["client"]), appointment=appointment)


@dataclass
class Preview:
    """A parsed upload: its rows, and the token under which a clean one waits for confirmation."""

    kind: str
    filename: str
    rows: list[Row]
    token: str | None = None

    @property
    def errors(self) -> list[str]:
        return [message for row in self.rows for message in row.messages]

    @property
    def to_write(self) -> list[Row]:
        return [row for row in self.rows if row.action != "unchanged"]

    @property
    def new_clients(self) -> int:
        return len({row.new_client for row in self.to_write if row.client_id is None})


@dataclass
class Result:
    """What a confirmed import wrote."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_clients: int = 0

    @property
    def summary(self) -> str:
        count = _plural(self.created + self.updated, "appointment")
        text = f"Imported {count} ({_plural(self.new_clients, 'new client')})"
        if self.updated:
            text += f"; {self.updated} of them updated"
        if self.unchanged:
            text += f"; {self.unchanged} already up to date"
        return text + "."


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --- Reading the file ------------------------------------------------------------------------

def read_upload(filename: str, data: bytes, *, tz: str, region: str) -> Preview:
    """Parse an uploaded file into rows without touching the database; raises ImportFileError."""
    kind = _kind_of(filename)
    if not data.strip():
        raise ImportFileError("The file is empty.")
    try:
        if b"\x00" in data:  # UTF-16 text or a binary file (a spreadsheet renamed .csv)
            raise UnicodeDecodeError("utf-8", data[:1], 0, 1, "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if kind == "ics":
            raise ImportFileError(NOT_ICAL) from None
        raise ImportFileError("The file is not UTF-8 text. In your spreadsheet, save it as "
                              "“CSV UTF-8” and upload it again.") from None
    parse = _parse_csv if kind == "csv" else _parse_ics
    return Preview(kind, filename, parse(text, ZoneInfo(tz), region))


def _kind_of(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix in CSV_TYPES:
        return "csv"
    if suffix in ICS_TYPES:
        return "ics"
    raise ImportFileError(f"“{filename}” is not a CSV (.csv) or iCal (.ics) file. "
                          "Save a spreadsheet as CSV first.")


def _parse_csv(text: str, zone: ZoneInfo, region: str) -> list[Row]:
    """Read the header and every row of a CSV text."""
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many locales export with ";" (or tabs); the header line tells which.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = _columns(next(reader, []))
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines that spreadsheets leave at the end
            if len(rows) == MAX_ROWS:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows. "
                                      "Split it into smaller files.")
            rows.append(_csv_row(number, columns, cells, zone, region))
    except csv.Error as exc:
        raise ImportFileError(f"Row {reader.line_num} cannot be read as CSV ({exc}).") from None
    if not rows:
        raise ImportFileError("The file has column names but no rows to import.")
    return rows


def _columns(header: list[str]) -> list[str]:
    """The normalised column names; refuses missing, unknown or repeated ones."""
    columns = [re.sub(r"[\s\-]+", "_", cell.strip().lower()) for cell in header]
    known = set(REQUIRED) | set(OPTIONAL)
    missing = [name for name in REQUIRED if name not in columns]
    if "end" not in columns and "duration_minutes" not in columns:
        missing.append("end (or duration_minutes)")
    # Blank header cells are ignored: spreadsheets often export empty trailing columns.
    unknown = [cell.strip() for cell, name in zip(header, columns, strict=True)
               if name and name not in known]
    repeated = sorted({name for name in columns if name in known and columns.count(name) > 1})
    problems = []
    if missing:
        problems.append("missing: " + ", ".join(missing))
    if unknown:
        problems.append("unknown: " + ", ".join(unknown))
    if repeated:
        problems.append("repeated: " + ", ".join(repeated))
    if problems:
        raise ImportFileError("The columns are wrong (" + "; ".join(problems) + "). "
                              "The first row must name the columns: " + ", ".join(COLUMNS) + ".")
    return columns


def _csv_row(number: int, columns: list[str], cells: list[str], zone, region) -> Row:
    """Parse one CSV row; problems are noted on the row, never raised."""
    values = {name: "" for name in COLUMNS}
    values.update({name: cell.strip() for name, cell in zip(columns, cells, strict=False)})
    row = Row(number, "row", raw=values)
    if any(cell.strip() for cell in cells[len(columns):]):
        row.error("row", f"has {len(cells)} values but the header has {len(columns)} columns")
    for column, limit in LIMITS.items():
        if len(values[column]) > limit:
            row.error(column, f"{column} is longer than {limit} characters")
    row.client = {"first_name": values["first_name"], "last_name": values["last_name"],
                  "company": values["company"]}
    _contact(row, values["mobile"], values["email"], values["contact_method"], region)
    start = _when(row, "start", values["start"], zone)
    if values["end"]:
        end = _when(row, "end", values["end"], zone)
    else:
        end = _after(row, start, values["duration_minutes"])
    _check_span(row, start, end)
    if not values["title"]:
        row.error("title", "title is empty")
    row.appointment = {"start_at": start, "end_at": end, "title": values["title"],
                       "staff": values["staff"], "location": values["location"],
                       "job_number": values["job_number"] or None,
                       "status": _status(row, values["status"]), "external_uid": None}
    return row


def _contact(row: Row, mobile: str, email: str, method: str, region: str) -> None:
    """Parse the mobile, email and contact method into row.client."""
    chosen = _method(row, method, mobile, email)
    row.client["contact_method"] = chosen.value
    row.client["email"] = _email(row, email)
    row.client["mobile"] = _mobile(row, mobile, chosen, region) if mobile else None
    if not mobile and not email:
        row.error("mobile", "give a mobile or an email so the client can be found or created")
    elif chosen is ContactMethod.TEXT and not mobile:
        row.error("mobile", "contact_method is text but there is no mobile")
    elif chosen is ContactMethod.EMAIL and not email:
        row.error("email", "contact_method is email but there is no email")


def _method(row: Row, text: str, mobile: str, email: str) -> ContactMethod:
    if not text:
        if mobile:
            return ContactMethod.TEXT
        return ContactMethod.EMAIL if email else ContactMethod.DO_NOT_CONTACT
    method = METHODS.get(text.lower())
    if method is None:
        row.error("contact_method", f"contact_method “{text}” must be text, email or none")
        return ContactMethod.TEXT
    return method


def _mobile(row: Row, text: str, method: ContactMethod, region: str) -> str | None:
    """The number in E.164; a landline is kept only for a client who is never texted."""
    try:
        return phones.mobile_e164(text, region)
    except phones.PhoneError as exc:
        message = f"mobile {str(exc).rstrip('.')}"
    try:
        landline = phones.to_e164(text, region)
    except phones.PhoneError:
        landline = None
    if landline and method is not ContactMethod.TEXT:
        return landline
    if landline and row.label == "row":
        message += "; set contact_method to email or none to keep it"
    row.error("mobile", message)
    return None


def _email(row: Row, text: str) -> str | None:
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        row.error("email", f"email “{text}” is not a valid email address")
        return None


def _when(row: Row, column: str, text: str, zone: ZoneInfo) -> datetime | None:
    """A date and time in UTC; local times are read in the business time zone."""
    if not text:
        row.error(column, f"{column} is empty")
        return None
    short = re.fullmatch(r"(\d{4}-\d\d-\d\d)[ T](\d):(\d\d)", text)
    try:
        value = datetime.fromisoformat(f"{short[1]} 0{short[2]}:{short[3]}" if short else text)
    except ValueError:
        value = None
    if value is None or ":" not in text:
        row.error(column, f"{column} “{text}” is not a date and time; use YYYY-MM-DD HH:MM")
        return None
    return _in_zone(row, column, text, value, zone)


def _in_zone(row: Row, column: str, text: str, value: datetime, zone: ZoneInfo):
    if not 1900 <= value.year <= 2200:  # also keeps time zone arithmetic from overflowing
        row.error(column, f"{column} “{text}” is not a plausible date")
        return None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    local = value.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        row.error(column, f"{column} “{text}” does not exist in {zone.key} (the clocks change)")
        return None
    return local.astimezone(UTC)


def _after(row: Row, start: datetime | None, text: str) -> datetime | None:
    """The end from duration_minutes."""
    if not text:
        row.error("end", "give an end or duration_minutes")
        return None
    if not text.isdigit() or not 1 <= int(text) <= 24 * 60:
        row.error("duration_minutes",
                  f"duration_minutes “{text}” must be a whole number from 1 to 1440")
        return None
    return start + timedelta(minutes=int(text)) if start else None


def _check_span(row: Row, start: datetime | None, end: datetime | None) -> None:
    if start and end and end < start:
        row.error("end", "end is before start")
    elif start and end and end == start:
        row.error("end", "end is the same as start")


def _status(row: Row, text: str) -> str:
    if not text:
        return AppointmentStatus.SCHEDULED.value
    key = re.sub(r"[\s\-]+", "_", text.strip().lower()).replace("canceled", "cancelled")
    if key not in {s.value for s in AppointmentStatus}:
        choices = ", ".join(s.label.lower() for s in AppointmentStatus)
        row.error("status", f"status “{text}” must be one of {choices}")
        return AppointmentStatus.SCHEDULED.value
    return key


# --- iCal ------------------------------------------------------------------------------------

def _parse_ics(text: str, zone: ZoneInfo, region: str) -> list[Row]:
    """Every VEVENT of an iCal calendar as a row."""
    try:
        calendar = Calendar.from_ical(text)
    except Exception:  # the parser raises many kinds of errors for text that is not iCal
        raise ImportFileError(NOT_ICAL) from None
    if calendar.name != "VCALENDAR":
        raise ImportFileError(NOT_ICAL)
    events = calendar.walk("VEVENT")
    if not events:
        raise ImportFileError("The calendar has no events to import.")
    if len(events) > MAX_ROWS:
        raise ImportFileError(f"The calendar has more than {MAX_ROWS:,} events. "
                              "Export a shorter period.")
    return [_event_row(number, event, zone, region) for number, event in enumerate(events, 1)]


def _event_row(number: int, event, zone: ZoneInfo, region: str) -> Row:
    """Parse one VEVENT; problems are noted on the row, never raised."""
    email, name = _attendee(event)
    description = str(event.get("DESCRIPTION", ""))
    mobile = str(event.get("X-TIDINGS-MOBILE", "")).strip() or _phone_in(description, region)
    title = str(event.get("SUMMARY", "")).strip()
    location = str(event.get("LOCATION", "")).strip()
    uid = str(event.get("UID", "")).strip() or None
    row = Row(number, "event", raw={"title": title, "location": location, "mobile": mobile,
                                    "email": email, "first_name": name,
                                    "start": _ical_text(event.get("DTSTART")),
                                    "end": _ical_text(event.get("DTEND"))})
    first, _, last = name.partition(" ")
    row.client = {"first_name": first, "last_name": last, "company": ""}
    if mobile or email:
        # Text a number that can take texts; else write to the email; else refuse the landline.
        method = "text" if mobile and (_textable(mobile, region) or not email) else "email"
        _contact(row, mobile, email, method, region)
    else:
        row.error("client", "no client: add an ATTENDEE with a mailto: email, or a phone number "
                            "in DESCRIPTION or X-TIDINGS-MOBILE")
    if event.get("RRULE") or event.get("RECURRENCE-ID"):
        row.error("start", "repeating events cannot be imported; export each visit on its own")
    start = _ical_time(row, "start", event.get("DTSTART"), zone)
    end = _ical_end(row, event, start, zone) if start else None
    _check_span(row, start, end)
    if not title:
        row.error("title", "the event has no SUMMARY (title)")
    for column, value, limit in (("title", title, 160), ("location", location, 200),
                                 ("external_uid", uid or "", 255), ("first_name", first, 80),
                                 ("last_name", last, 80)):
        if len(value) > limit:
            row.error(column, f"{column} is longer than {limit} characters")
    status = str(event.get("STATUS", "")).upper()
    row.appointment = {"start_at": start, "end_at": end, "title": title,
                       "staff": "", "location": location, "job_number": None,
                       "status": "cancelled" if status == "CANCELLED" else "scheduled",
                       "external_uid": uid}
    return row


def _attendee(event) -> tuple[str, str]:
    """The email and name (CN) of the event's first ATTENDEE with a mailto: address."""
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee)
        if address.lower().startswith("mailto:"):
            return address[7:].strip(), str(attendee.params.get("CN", "")).strip()
    return "", ""


def _phone_in(text: str, region: str) -> str:
    match = next(iter(phonenumbers.PhoneNumberMatcher(text, region)), None)
    return match.raw_string if match else ""


def _textable(text: str, region: str) -> bool:
    try:
        phones.mobile_e164(text, region)
    except phones.PhoneError:
        return False
    return True


def _ical_text(prop) -> str:
    value = getattr(prop, "dt", None)
    return value.isoformat() if value is not None else ""


def _ical_time(row: Row, column: str, prop, zone: ZoneInfo) -> datetime | None:
    """An iCal DTSTART/DTEND in UTC; floating times are read in the business time zone."""
    value = getattr(prop, "dt", None)
    if value is None:
        row.error(column, f"the event has no {'DTSTART' if column == 'start' else 'DTEND'}")
        return None
    if not isinstance(value, datetime) and isinstance(value, date):
        if column == "start":
            row.error("start", "all-day events cannot be imported; give the event a start time")
        else:
            row.error("end", "the event ends on a date without a time")
        return None
    return _in_zone(row, column, value.isoformat(), value, zone)


def _ical_end(row: Row, event, start: datetime | None, zone: ZoneInfo) -> datetime | None:
    if event.get("DTEND") is not None:
        return _ical_time(row, "end", event.get("DTEND"), zone)
    duration = getattr(event.get("DURATION"), "dt", None)
    if isinstance(duration, timedelta):
        return start + duration if start else None
    row.error("end", "the event has no DTEND or DURATION")
    return None


# --- Checking against the database -----------------------------------------------------------

def resolve(rows: list[Row]) -> None:
    """Match clients and appointments already in the database and flag duplicates."""
    by_mobile, by_email = _existing_clients(rows)
    by_uid = _existing_uids(rows)
    for row in rows:
        client = by_mobile.get(row.client.get("mobile")) or by_email.get(row.client.get("email"))
        row.client_id, row.client_name = (client.id, client.name) if client else (None, "")
        existing = by_uid.get(row.appointment.get("external_uid"))
        if existing is not None:
            row.appointment_id = existing.id
            row.action = "unchanged" if _same(existing, row) else "update"
    _group_new_clients(rows)
    _flag_repeats(rows)
    _flag_existing(rows)


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
    """True when an imported event would change nothing on its appointment."""
    values = row.appointment
    return (appointment.client_id == row.client_id
            and appointment.start_at == values["start_at"]
            and appointment.end_at == values["end_at"]
            and appointment.title == values["title"]
            and appointment.location == values["location"]
            and appointment.status == values["status"])


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
    elif row.client.get("mobile") or row.client.get("email"):
        row.error("client", "no client has this mobile or email, and the ATTENDEE has no name "
                            "(CN) to create one")


def _flag_repeats(rows: list[Row]) -> None:
    """A row with the same client and start as an earlier row, or the same UID, is a duplicate."""
    seen: dict[tuple, int] = {}
    for row in rows:
        start, uid = row.appointment.get("start_at"), row.appointment.get("external_uid")
        who = ("client", row.client_id) if row.client_id else ("new", row.new_client)
        keys = ([(who, start)] if start else []) + ([("uid", uid)] if uid else [])
        earlier = next((seen[key] for key in keys if key in seen), None)
        if earlier is not None:
            row.error("row", f"duplicate of {row.label} {earlier}")
        for key in keys:
            seen.setdefault(key, row.number)


def _flag_existing(rows: list[Row]) -> None:
    """A row whose client already has an appointment at that start time is refused."""
    wanted = {(row.client_id, row.appointment["start_at"]): row for row in rows
              if row.client_id and row.appointment.get("start_at") and row.action != "unchanged"}
    if not wanted:
        return
    starts = {start for _, start in wanted}
    for chunk in _chunks({client_id for client_id, _ in wanted}):
        found = db.session.execute(
            select(Appointment.id, Appointment.client_id, Appointment.start_at).where(
                Appointment.client_id.in_(chunk), Appointment.start_at.in_(sorted(starts))
            )
        )
        for appointment_id, client_id, start in found:
            row = wanted.get((client_id, start))
            if row is not None and row.appointment_id != appointment_id:
                row.error("start", "this appointment already exists (same client and start time)")


# --- Writing ---------------------------------------------------------------------------------

def write(upload: Preview, *, actor_id: int | None) -> Result:
    """Insert the clients and appointments of a resolved, clean upload, with their audit events.

    Bulk INSERTs (not one ORM object per row): 5,000 rows must fit in one web request.
    """
    rows = upload.to_write
    clients = _insert_clients(upload)
    client_of = {id(row): row.client_id or clients[row.new_client] for row in rows}
    created = [row for row in rows if row.action == "create"]
    ids = _insert(Appointment, [dict(row.appointment, client_id=client_of[id(row)])
                                for row in created])
    events = [_event("Client created by the import of", upload, None, client_id, None)
              for client_id in clients.values()]
    events += [_event("Imported from", upload, row, client_of[id(row)], appointment_id)
               for row, appointment_id in zip(created, ids, strict=True)]
    updated = [row for row in rows if row.action == "update"]
    for row in updated:
        appointment = db.session.get(Appointment, row.appointment_id)
        before = {key: getattr(appointment, key) for key in ("start_at", "status")}
        for key in ("start_at", "end_at", "title", "location", "status"):
            setattr(appointment, key, row.appointment[key])
        moved = {k: [v, getattr(appointment, k)] for k, v in before.items()
                 if v != getattr(appointment, k)}
        if moved:  # a reschedule or cancellation by import stops what was queued (automation)
            changed.send(appointment, changes=moved, actor=actor_id)
        appointment.client_id = client_of[id(row)]
        events.append(_event("Updated from", upload, row, client_of[id(row)], appointment.id))
    if events:
        db.session.execute(insert(AuditEvent),
                           [dict(event, actor_id=actor_id, at=utcnow()) for event in events])
    return Result(created=len(created), updated=len(updated), new_clients=len(clients),
                  unchanged=len(upload.rows) - len(rows))


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
    where = f" ({row.label} {row.number})" if row else ""
    return {"action": "imported", "summary": f"{what} {upload.filename}{where}"[:500],
            "client_id": client_id, "appointment_id": appointment_id}


# --- The two steps ---------------------------------------------------------------------------

def preview(filename: str, data: bytes, *, tz: str, region: str, upload_dir,
            user_id: int) -> Preview:
    """Parse and check an upload; a clean one is stored and gets a token for confirm()."""
    upload = read_upload(filename, data, tz=tz, region=region)
    resolve(upload.rows)
    if not upload.errors and upload.to_write:
        upload.token = _store(upload, Path(upload_dir) / "imports", user_id)
    return upload


def confirm(token: str, *, user_id: int, upload_dir) -> Result:
    """Write a stored upload in one transaction, or nothing; commits itself.

    It commits (unlike most operations) because the claim on the stored file and the
    transaction must succeed or fail together.
    """
    folder = Path(upload_dir) / "imports"
    stored = _load(folder, token, user_id)
    claimed = folder / f"{token}.claimed"
    try:
        os.rename(folder / f"{token}.json", claimed)
    except FileNotFoundError:
        raise ImportFileError(UNKNOWN_TOKEN) from None  # another request took it first
    try:
        resolve(stored.rows)
        if stored.errors:
            stored.token = None
            raise ImportRowsError(stored)
        result = write(stored, actor_id=user_id)
        db.session.commit()
    except ImportRowsError:
        db.session.rollback()
        claimed.unlink(missing_ok=True)
        raise
    except SQLAlchemyError as exc:
        db.session.rollback()
        os.rename(claimed, folder / f"{token}.json")  # let the user try once more
        raise ImportFileError(
            f"Nothing was imported: the database refused the rows ({type(exc).__name__}). "
            "Try again."
        ) from exc
    claimed.unlink(missing_ok=True)
    return result


def _store(upload: Preview, folder: Path, user_id: int) -> str:
    """Write the parsed rows to <token>.json and return the token."""
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    payload = {"version": 1, "kind": upload.kind, "filename": upload.filename,
               "user_id": user_id, "rows": [row.to_json() for row in upload.rows]}
    partial = folder / f"{token}.part"
    partial.touch(mode=0o600)  # the rows hold clients' names and numbers
    partial.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(partial, folder / f"{token}.json")
    return token


def _load(folder: Path, token: str, user_id: int) -> Preview:
    """The stored upload of this token and this user; anything else is an unknown token."""
    path = folder / f"{token}.json"
    if not TOKEN_RE.fullmatch(token or "") or not path.is_file():
        raise ImportFileError(UNKNOWN_TOKEN)
    if time.time() - path.stat().st_mtime > TOKEN_TTL.total_seconds():
        path.unlink(missing_ok=True)
        raise ImportFileError(UNKNOWN_TOKEN)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["version"] != 1 or payload["user_id"] != user_id:
            raise ImportFileError(UNKNOWN_TOKEN)
        rows = [Row.from_json(row) for row in payload["rows"]]
        return Preview(payload["kind"], payload["filename"], rows, token=token)
    except (ValueError, KeyError, TypeError):
        raise ImportFileError(UNKNOWN_TOKEN) from None


def _sweep(folder: Path) -> None:
    """Delete stored uploads nobody confirmed within TOKEN_TTL."""
    cutoff = time.time() - TOKEN_TTL.total_seconds()
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # a concurrent request removed it


def template_csv(tz: str) -> str:
    """A sample CSV with every column and two example rows starting next week."""
    day = (datetime.now(ZoneInfo(tz)) + timedelta(days=7)).date().isoformat()
    examples = [
        {"first_name": "Ana", "last_name": "Lopez", "mobile": "+1 202 555 0143",
         "email": "ana@example.com", "contact_method": "text", "start": f"{day} 09:00",
         "end": f"{day} 09:30", "title": "Check-up", "staff": "Dr. Lee",
         "location": "Main office", "job_number": "J-1001", "status": "scheduled"},
        {"first_name": "Ben", "last_name": "Okafor", "company": "Okafor Builders",
         "email": "ben@example.com", "contact_method": "email", "start": f"{day} 14:00",
         "duration_minutes": "90", "title": "Boiler service", "staff": "Sam",
         "location": "12 High Street", "job_number": "J-1002"},
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(examples)
    return out.getvalue()
