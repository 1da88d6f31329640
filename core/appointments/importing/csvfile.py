"""CSV files: a header naming the columns, then one appointment per row."""

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.appointments.importing import consent
from core.appointments.importing.dates import MONTH_FIRST_REGIONS
from core.appointments.importing.fields import check_span, contact, in_zone, split_name, status_of
from core.appointments.importing.rows import MAX_ROWS, ImportFileError, Options, Row

REQUIRED = ("first_name", "last_name", "mobile", "email", "start", "title")
OPTIONAL = ("company", "contact_method", "end", "duration_minutes", "staff", "location",
            "job_number", "status", "marketing_consent", "marketing_consent_date")
COLUMNS = ("first_name", "last_name", "company", "mobile", "email", "contact_method", "start",
           "end", "duration_minutes", "title", "staff", "location", "job_number", "status",
           "marketing_consent", "marketing_consent_date")
FULL_NAME = ("full_name", "name")  # one column with the whole name, instead of first + last
LIMITS = {"first_name": 80, "last_name": 80, "company": 120, "email": 254, "title": 160,
          "staff": 120, "location": 200, "job_number": 40}


def read_table(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the numbered non-blank rows of a CSV text (comma, semicolon or tab)."""
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many locales export with ";" (or tabs); the header line tells which.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines that spreadsheets leave at the end
            if len(rows) == MAX_ROWS:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows. "
                                      "Split it into smaller files.")
            rows.append((number, cells))
    except csv.Error as exc:
        raise ImportFileError(f"Row {reader.line_num} cannot be read as CSV ({exc}).") from None
    if not rows:
        raise ImportFileError("The file has column names but no rows to import.")
    return header, rows


def is_tidings_header(header: list[str]) -> bool:
    """True when the header names Tidings' own columns (the template): no mapping needed."""
    try:
        _columns(header)
    except ImportFileError:
        return False
    return True


def parse_csv(text: str, options: Options) -> list[Row]:
    """Read a CSV text whose header names Tidings' own columns."""
    zone, region = ZoneInfo(options.tz), options.region
    header, rows = read_table(text)
    columns = _columns(header)
    return [_csv_row(number, columns, cells, zone, region) for number, cells in rows]


def _columns(header: list[str]) -> list[str]:
    """The normalised column names; refuses missing, unknown or repeated ones."""
    columns = [re.sub(r"[\s\-]+", "_", cell.strip().lower()) for cell in header]
    columns = ["full_name" if name in FULL_NAME else name for name in columns]
    known = set(REQUIRED) | set(OPTIONAL) | {"full_name"}
    required = REQUIRED
    if "full_name" in columns:
        required = tuple(name for name in REQUIRED if name not in ("first_name", "last_name"))
    missing = [name for name in required if name not in columns]
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


def _csv_row(number: int, columns: list[str], cells: list[str], zone: ZoneInfo,
             region: str) -> Row:
    """Parse one CSV row; problems are noted on the row, never raised."""
    values = {name: "" for name in COLUMNS}
    values.update({name: cell.strip() for name, cell in zip(columns, cells, strict=False)})
    row = Row(number, "row", raw=values)
    if any(cell.strip() for cell in cells[len(columns):]):
        row.error("row", f"has {len(cells)} values but the header has {len(columns)} columns")
    for column, limit in LIMITS.items():
        if len(values[column]) > limit:
            row.error(column, f"{column} is longer than {limit} characters")
    first, last = values["first_name"], values["last_name"]
    if values.get("full_name") and not (first or last):
        first, last = split_name(values["full_name"])
    row.client = {"first_name": first, "last_name": last, "company": values["company"]}
    contact(row, values["mobile"], values["email"], values["contact_method"], region)
    consent.read(row, values["marketing_consent"], values["marketing_consent_date"],
                 region.upper() not in MONTH_FIRST_REGIONS, zone)
    start = _when(row, "start", values["start"], zone)
    if values["end"]:
        end = _when(row, "end", values["end"], zone)
    else:
        end = _after(row, start, values["duration_minutes"])
    check_span(row, start, end)
    if not values["title"]:
        row.error("title", "title is empty")
    row.appointment = {"start_at": start, "end_at": end, "title": values["title"],
                       "staff": values["staff"], "location": values["location"],
                       "job_number": values["job_number"] or None,
                       "status": status_of(row, values["status"]), "external_uid": None}
    return row


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
    return in_zone(row, column, text, value, zone)


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


def template_csv(tz: str) -> str:
    """A sample CSV with every column and two example rows starting next week."""
    day = (datetime.now(ZoneInfo(tz)) + timedelta(days=7)).date().isoformat()
    examples = [
        {"first_name": "Ana", "last_name": "Lopez", "mobile": "+1 202 555 0143",
         "email": "ana@example.com", "contact_method": "text", "start": f"{day} 09:00",
         "end": f"{day} 09:30", "title": "Check-up", "staff": "Dr. Lee",
         "location": "Main office", "job_number": "J-1001", "status": "scheduled",
         "marketing_consent": "yes", "marketing_consent_date": "2026-01-15"},
        {"first_name": "Ben", "last_name": "Okafor", "company": "Okafor Builders",
         "email": "ben@example.com", "contact_method": "email", "start": f"{day} 14:00",
         "duration_minutes": "90", "title": "Boiler service", "staff": "Sam",
         "location": "12 High Street", "job_number": "J-1002", "marketing_consent": "no"},
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(examples)
    return out.getvalue()
