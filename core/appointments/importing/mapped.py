"""CSV rows read through a column mapping (any header: Google, Outlook, practice exports)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.appointments.importing import consent
from core.appointments.importing.csvfile import LIMITS, read_table
from core.appointments.importing.dates import (
    MONTH_FIRST_REGIONS,
    DateFormatError,
    day_first_of,
    read_date,
    read_datetime,
    read_time,
)
from core.appointments.importing.fields import check_span, contact, in_zone, split_name, status_of
from core.appointments.importing.mapping import Mapping
from core.appointments.importing.people import labelled_phone
from core.appointments.importing.rows import Options, Row


def parse_mapped(text: str, options: Options, mapping: Mapping,
                 limit: int | None = None) -> list[Row]:
    """The rows of a CSV text (all, or the first `limit`), read as the mapping says."""
    _, table = read_table(text)
    day_first = _day_first(mapping, table, options.region)
    return [_row(number, _values(mapping, cells), options, mapping, day_first)
            for number, cells in table[:limit]]


def _values(mapping: Mapping, cells: list[str]) -> dict[str, str]:
    values = {name: cell.strip() for name, cell in zip(mapping.columns, cells, strict=False)
              if name != "ignore"}
    return values


def _day_first(mapping: Mapping, table: list, region: str) -> bool:
    """The user's choice, else what the file's dates tell, else the business's region."""
    if mapping.day_first is not None:
        return mapping.day_first
    dated = [i for i, name in enumerate(mapping.columns) if name in ("start", "date", "end")]
    told = day_first_of([cells[i] for _, cells in table for i in dated if i < len(cells)])
    return told if told is not None else region.upper() not in MONTH_FIRST_REGIONS


def _row(number: int, values: dict, options: Options, mapping: Mapping, day_first: bool) -> Row:
    """Parse one mapped row; problems are noted on the row, never raised."""
    row = Row(number, "row", raw=dict(values))
    first, last = values.get("first_name", ""), values.get("last_name", "")
    if values.get("full_name") and not (first or last):
        first, last = split_name(values["full_name"])
    row.raw.update(first_name=first, last_name=last)
    for column, limit in LIMITS.items():
        if len(row.raw.get(column) or "") > limit:
            row.error(column, f"{column} is longer than {limit} characters")
    row.client = {"first_name": first, "last_name": last, "company": values.get("company", "")}
    _contact(row, values, options)
    consent.read(row, values.get("marketing_consent", ""), values.get("marketing_consent_date", ""),
                 day_first, ZoneInfo(options.tz))
    if not mapping.clients_only:
        row.appointment = _appointment(row, values, options, mapping, day_first)
    return row


def _contact(row: Row, values: dict, options: Options) -> None:
    """A mobile, else another phone (kept as a landline for email or no contact), else one
    from a labelled line of the notes."""
    email, other = values.get("email", ""), values.get("home_phone", "")
    mobile = values.get("mobile", "") or labelled_phone(values.get("notes", ""), options.region,
                                                        options.business_phone)
    phone = mobile or other
    method = "" if mobile or not phone else ("email" if email else "none")
    row.raw["mobile"] = phone
    contact(row, phone, email, method, options.region)


def _appointment(row: Row, values: dict, options: Options, mapping: Mapping,
                 day_first: bool) -> dict:
    zone = ZoneInfo(options.tz)
    start = _start(row, values, day_first, zone)
    end = _end(row, values, start, day_first, zone, mapping.default_minutes)
    check_span(row, start, end)
    row.raw.update(start=_shown(values, "start", "date", "time"),
                   end=_shown(values, "end", "", "end_time"))
    return {"start_at": start, "end_at": end,
            "title": values.get("title") or mapping.default_title,
            "staff": values.get("staff", ""), "location": values.get("location", ""),
            "job_number": values.get("job_number") or None,
            "status": status_of(row, values.get("status", "")),
            "external_uid": values.get("external_id") or None}


def _shown(values: dict, whole: str, day: str, clock: str) -> str:
    return values.get(whole) or " ".join(filter(None, (values.get(day), values.get(clock))))


def _start(row: Row, values: dict, day_first: bool, zone: ZoneInfo) -> datetime | None:
    if "start" in values:
        return _read(row, "start", values["start"], day_first, zone)
    day = _date(row, values.get("date", ""), day_first)
    if day is None:
        return None
    return _at(row, "start", day, values.get("time", ""), zone)


def _end(row: Row, values: dict, start, day_first: bool, zone: ZoneInfo,
         default_minutes: int) -> datetime | None:
    if values.get("end"):
        return _read(row, "end", values["end"], day_first, zone)
    if values.get("end_time") and start:
        return _at(row, "end", start.astimezone(zone).date(), values["end_time"], zone)
    minutes = values.get("duration_minutes", "")
    if minutes and not (minutes.isdigit() and 1 <= int(minutes) <= 24 * 60):
        row.error("duration_minutes",
                  f"duration “{minutes}” must be a whole number of minutes from 1 to 1440")
        return None
    return start + timedelta(minutes=int(minutes or default_minutes)) if start else None


def _read(row: Row, column: str, text: str, day_first: bool, zone: ZoneInfo):
    if not text:
        row.error(column, f"{column} is empty")
        return None
    try:
        value = read_datetime(text, day_first)
    except DateFormatError:
        row.error(column, f"{column} “{text}” is not a date and time")
        return None
    return in_zone(row, column, text, value, zone)


def _date(row: Row, text: str, day_first: bool) -> date | None:
    if not text:
        row.error("start", "the date is empty")
        return None
    try:
        return read_date(text, day_first)
    except DateFormatError:
        row.error("start", f"date “{text}” is not a date")
        return None


def _at(row: Row, column: str, day: date, text: str, zone: ZoneInfo) -> datetime | None:
    if not text:
        row.error(column, f"the {column} time is empty")
        return None
    try:
        value = datetime.combine(day, read_time(text))
    except DateFormatError:
        row.error(column, f"time “{text}” is not a time of day")
        return None
    return in_zone(row, column, f"{day} {text}", value, zone)
