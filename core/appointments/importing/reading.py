"""Reading an uploaded file: its kind, its text encoding, then its rows."""

from pathlib import Path

from core.appointments.importing.csvfile import parse_csv
from core.appointments.importing.icalfile import NOT_ICAL, parse_ics
from core.appointments.importing.rows import ImportFileError, Options, Preview

CSV_TYPES = {".csv"}
ICS_TYPES = {".ics", ".ical", ".icalendar", ".ifb"}
NOT_UTF8_CSV = ("The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8” and "
                "upload it again.")
LEGACY = ("The calendar is not UTF-8 text; it was read as Windows-1252 (Western European). "
          "Check the accented letters below, or export the calendar as UTF-8.")


def read_upload(filename: str, data: bytes, options: Options) -> Preview:
    """Parse an uploaded file into rows without touching the database; raises ImportFileError."""
    kind = kind_of(filename)
    if not data.strip():
        raise ImportFileError("The file is empty.")
    text, notices = decode(data, kind)
    if kind == "csv":
        return Preview(kind, filename, parse_csv(text, options), notices=notices)
    rows, more, owner = parse_ics(text, options)
    return Preview(kind, filename, rows, notices=notices + more, owner_hint=owner)


def kind_of(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix in CSV_TYPES:
        return "csv"
    if suffix in ICS_TYPES:
        return "ics"
    raise ImportFileError(f"“{filename}” is not a CSV (.csv) or iCal (.ics) file. "
                          "Save a spreadsheet as CSV first.")


def decode(data: bytes, kind: str) -> tuple[str, list[str]]:
    """The text of the file: UTF-8 (BOM or not), UTF-16 with a BOM, or a legacy calendar."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Windows' "Unicode" text
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:  # a NUL byte: a binary file (a spreadsheet renamed .csv)
        try:
            return data.decode("utf-8-sig"), []
        except UnicodeDecodeError:
            pass
        # Outlook and older calendar tools write the Windows code page of Western Europe.
        if kind == "ics" and data.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
            return data.decode("cp1252", errors="replace"), [LEGACY]
    raise ImportFileError(NOT_ICAL if kind == "ics" else NOT_UTF8_CSV)
