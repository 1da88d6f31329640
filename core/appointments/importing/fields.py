"""Reading one value of a row: contact details, times in a zone, status words and names."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from core import phones
from core.appointments.importing.rows import Row
from core.appointments.models import AppointmentStatus
from core.clients.models import ContactMethod

METHODS = {"text": ContactMethod.TEXT, "sms": ContactMethod.TEXT, "email": ContactMethod.EMAIL,
           "none": ContactMethod.DO_NOT_CONTACT, "do not contact": ContactMethod.DO_NOT_CONTACT}
# Words of scheduling systems for our statuses. A no-show is over and must not be reminded of:
# it is imported as cancelled.
STATUS_WORDS = {"confirmed": "scheduled", "booked": "scheduled", "pending": "scheduled",
                "unconfirmed": "scheduled", "rescheduled": "scheduled", "arrived": "working",
                "checked_in": "working", "in_progress": "working", "done": "completed",
                "checked_out": "completed", "no_show": "cancelled", "noshow": "cancelled",
                "did_not_attend": "cancelled", "dna": "cancelled", "missed": "cancelled"}
# "Dr. Ana Lopez (Cardiology)": a trailing department or note in brackets is not part of a name.
BRACKETED = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*$")


def split_name(text: str) -> tuple[str, str]:
    """First and last name of "First Last", "First Middle Last" or "Last, First (dept)"."""
    name = " ".join(text.split())
    while BRACKETED.search(name):
        name = BRACKETED.sub("", name)
    if "@" in name:  # some calendars put the address where the name goes
        return "", ""
    if name.isupper():  # practice systems export "LOPEZ, ANA"
        name = name.title()
    last, comma, first = name.partition(",")
    if comma and first.strip() and last.strip():
        return first.strip(), last.strip()
    first, _, last = name.replace(",", " ").strip().partition(" ")
    return first, last.strip()


def contact(row: Row, mobile: str, email: str, method: str, region: str) -> None:
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


def in_zone(row: Row, column: str, text: str, value: datetime, zone: ZoneInfo):
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


def check_span(row: Row, start: datetime | None, end: datetime | None) -> None:
    if start and end and end < start:
        row.error("end", "end is before start")
    elif start and end and end == start:
        row.error("end", "end is the same as start")


def status_of(row: Row, text: str) -> str:
    if not text:
        return AppointmentStatus.SCHEDULED.value
    key = re.sub(r"[\s\-]+", "_", text.strip().lower()).replace("canceled", "cancelled")
    key = STATUS_WORDS.get(key, key)
    if key not in {s.value for s in AppointmentStatus}:
        choices = ", ".join(s.label.lower() for s in AppointmentStatus)
        row.error("status", f"status “{text}” must be one of {choices}")
        return AppointmentStatus.SCHEDULED.value
    return key


