"""The column-mapping step of a CSV import: which column holds which Tidings field.

A mapping is guessed from the header (the names that Google Contacts, Outlook and practice
systems write, see SYNONYMS) and from sample values, shown to the user to correct, and can be
saved: a file with the same header is offered the saved mapping again.
"""

import hashlib
import re
from dataclasses import dataclass, field

from core import settings
from core.appointments.importing.dates import DateFormatError, read_date, read_datetime, read_time

SAVED_KEY = "import_mappings"
FIELDS = (
    ("ignore", "— ignore —"), ("first_name", "First name"), ("last_name", "Last name"),
    ("full_name", "Full name (“First Last” or “Last, First”)"), ("company", "Company"),
    ("mobile", "Mobile"), ("home_phone", "Home / other phone"), ("email", "Email"),
    ("start", "Appointment start (date and time)"), ("date", "Appointment date"),
    ("time", "Appointment time"), ("end", "End (date and time)"), ("end_time", "End time"),
    ("duration_minutes", "Duration (minutes)"), ("title", "Title / type"), ("staff", "Staff"),
    ("location", "Location"), ("job_number", "Job number"),
    ("external_id", "External appointment id"), ("status", "Status"), ("notes", "Notes"),
    ("marketing_consent", "Marketing consent (yes / no)"),
    ("marketing_consent_date", "Marketing consent date"),
)
FIELD_NAMES = {name for name, _ in FIELDS}
# Header names (lower case, spaces and punctuation squeezed to "_") → field. Sources: the CSV
# headers of Google Contacts, Outlook contacts and calendar exports, and common reminder exports.
SYNONYMS = {
    "first_name": ("first_name", "given_name", "firstname", "forename"),
    "last_name": ("last_name", "family_name", "surname", "lastname"),
    "full_name": ("full_name", "name", "client_name", "patient_name", "patient", "client",
                  "customer", "customer_name", "required_attendees"),
    "company": ("company", "organization_name", "organization_1_name", "business"),
    "mobile": ("mobile", "mobile_phone", "cell", "cell_phone", "cellphone", "phone_1_value",
               "mobile_number", "sms"),
    "home_phone": ("home_phone", "phone", "telephone", "primary_phone", "other_phone"),
    "email": ("email", "e_mail", "email_address", "e_mail_address", "e_mail_1_value",
              "email_1_value"),
    "start": ("start", "start_time_and_date", "appointment_start", "starts"),
    "date": ("date", "start_date", "appointment_date", "appt_date", "visit_date"),
    "time": ("time", "start_time", "appointment_time", "appt_time"),
    "end": ("end", "ends", "appointment_end"),
    "end_time": ("end_time",),
    "duration_minutes": ("duration_minutes", "duration", "length", "minutes"),
    "title": ("title", "subject", "appointment_type", "appt_type", "type", "service",
              "reason"),
    "staff": ("staff", "provider", "doctor", "practitioner", "therapist", "technician",
              "resource"),
    "location": ("location", "site", "office", "room", "address"),
    "job_number": ("job_number", "job", "job_no", "work_order"),
    "external_id": ("external_id", "appointment_id", "appt_id", "id", "uid", "booking_id"),
    "status": ("status", "appointment_status", "appt_status"),
    "notes": ("notes", "description", "comments", "memo"),
    # Shopify's customer export, Mailchimp's and common CRM exports.
    "marketing_consent": ("marketing_consent", "consent", "accepts_marketing",
                          "accepts_sms_marketing", "sms_marketing_consent", "sms_consent",
                          "marketing_opt_in", "opt_in", "optin", "marketing"),
    "marketing_consent_date": ("marketing_consent_date", "consent_date", "opt_in_date",
                               "optin_date", "accepts_marketing_updated_at",
                               "sms_consent_date"),
}
BY_HEADER = {alias: name for name, aliases in SYNONYMS.items() for alias in aliases}
PRESETS = (  # (name, headers that only that export has)
    ("Google Contacts", {"given_name", "family_name"}),
    ("Google Contacts", {"e_mail_1_value", "phone_1_value"}),
    ("Outlook calendar", {"subject", "start_date", "start_time", "all_day_event"}),
    ("Outlook contacts", {"first_name", "last_name", "mobile_phone", "e_mail_address"}),
    ("Practice-management reminder export", {"patient_name", "appointment_date"}),
)


@dataclass
class Mapping:
    """The field of each column, how to read numeric dates, and defaults for missing columns."""

    columns: list[str]
    day_first: bool | None = None  # None: from the file's dates, else the business's region
    default_minutes: int = 30
    default_title: str = "Appointment"
    preset: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def clients_only(self) -> bool:
        return not {"start", "date"} & set(self.columns)


def normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def signature(header: list[str]) -> str:
    """A short key of a header, under which its saved mapping is kept."""
    return hashlib.sha256("\x1f".join(normalise(h) for h in header).encode()).hexdigest()[:24]


def guess(header: list[str], samples: list[list[str]]) -> Mapping:
    """The saved mapping of this header, else one guessed from its names and sample values."""
    saved = (settings.get(SAVED_KEY) or {}).get(signature(header))
    names = [normalise(h) for h in header]
    preset = next((name for name, marks in PRESETS if marks <= set(names)), "")
    if saved and len(saved.get("columns", [])) == len(header):
        return Mapping(columns=list(saved["columns"]), day_first=saved.get("day_first"),
                       default_minutes=saved.get("default_minutes", 30), preset="saved")
    columns, taken = [], set()
    for index, name in enumerate(names):
        column = BY_HEADER.get(name) or _by_values([row[index] for row in samples
                                                    if index < len(row)])
        if column in taken or column is None:
            column = "ignore"
        taken.add(column)
        columns.append(column)
    return Mapping(columns=columns, preset=preset)


def _by_values(values: list[str]) -> str | None:
    """A field told by sample values alone: emails, dates, times."""
    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    if all("@" in v for v in values):
        return "email"
    readers = ((lambda v: read_date(v, False), "date"), (read_time, "time"),
               (lambda v: read_datetime(v, False), "start"))
    for reader, name in readers:
        try:
            [reader(v) for v in values]
        except (DateFormatError, ValueError):
            continue
        return name
    return None


def check(mapping: Mapping) -> list[str]:
    """What a mapping lacks to be read; empty when it can be."""
    chosen = [c for c in mapping.columns if c != "ignore"]
    problems = [f"“{dict(FIELDS)[c]}” is chosen for more than one column"
                for c in sorted(set(chosen)) if chosen.count(c) > 1]
    has = set(chosen)
    if not has & {"first_name", "last_name", "full_name", "mobile", "email", "home_phone"}:
        problems.append("choose the column with the client's name, mobile or email")
    if "time" in has and "date" not in has:
        problems.append("a time column needs a date column")
    if "start" in has and "date" in has:
        problems.append("choose either a start column or date and time columns")
    return problems


def save(header: list[str], mapping: Mapping) -> None:
    """Remember a mapping for files with the same header; the caller commits."""
    saved = dict(settings.get(SAVED_KEY) or {})
    saved[signature(header)] = {"columns": mapping.columns, "day_first": mapping.day_first,
                                "default_minutes": mapping.default_minutes}
    settings.set(SAVED_KEY, saved)
