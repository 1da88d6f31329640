"""iCal (.ics) calendars: one appointment per event, or per visit of a repeating event.

Every event is read on its own: a broken date, an unknown time zone or an unreadable rule is
that event's error, never the file's. Repeating events are expanded by
`core.appointments.importing.series`.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, vBroken, vDDDLists

from core.appointments.importing import people, series, zones
from core.appointments.importing.fields import check_span, contact, in_zone
from core.appointments.importing.rows import MAX_ROWS, ImportFileError, Options, Row

NOT_ICAL = "This file is not an iCal (.ics) calendar."
TIMED = ("DTSTART", "DTEND", "RDATE", "EXDATE", "RECURRENCE-ID")
CHECKED = (*TIMED, "DURATION", "RRULE")
EARLIEST = datetime.min.replace(tzinfo=UTC)  # sorts the rows whose start cannot be read first
LIMITS = (("title", 160), ("location", 200), ("first_name", 80), ("last_name", 80))


class Context:
    """What every event of one calendar shares: the zone of floating times, the owners."""

    def __init__(self, calendar: Calendar, options: Options):
        self.options = options
        self.owners = people.owners(calendar, options.own_addresses)
        named = str(calendar.get("X-WR-TIMEZONE", "")).strip()
        # Google writes floating times meaning the calendar's own zone (X-WR-TIMEZONE).
        self.floating = zones.find(named) if named else ZoneInfo(options.tz)
        self.floating_name = named
        self.timezones = calendar.walk("VTIMEZONE")


def parse_ics(text: str, options: Options) -> tuple[list[Row], list[str], tuple | None]:
    """Every VEVENT of an iCal calendar as rows, notices for the whole file, and the address
    that attends most events when it is probably the business's own (address, events)."""
    calendar = _calendar(text)
    events = calendar.walk("VEVENT")
    if not events:
        raise ImportFileError("The calendar has no events to import.")
    shared = Context(calendar, options)
    numbered = list(enumerate(events, 1))
    groups = _series_groups(numbered)
    grouped = {number for members in groups.values() for number, _ in members}
    rows = [event_row(number, event, shared) for number, event in numbered
            if number not in grouped]
    notices = []
    for members in groups.values():
        rows += _series_rows(members, shared)
        if len(rows) > MAX_ROWS:
            raise ImportFileError(f"The calendar has more than {MAX_ROWS:,} events and "
                                  "visits. Export a shorter period, or choose fewer days.")
    if groups:
        first, after = series.window(options)
        notices.append(f"Repeating events: their visits from {first:%Y-%m-%d} to "
                       f"{after - timedelta(days=1):%Y-%m-%d} are read (the window is chosen "
                       "on the upload page).")
    rows.sort(key=lambda row: (row.number, row.appointment.get("start_at") or EARLIEST))
    return rows, notices, people.owner_hint(events, shared.owners)


def _series_groups(numbered: list) -> dict[str, list]:
    """The VEVENTs of each repeating event (its master and changed visits), by UID."""
    repeating = {_uid(e) for _, e in numbered if _uid(e) and series.is_repeating(e)}
    groups: dict[str, list] = {}
    for number, event in numbered:
        if _uid(event) in repeating:
            groups.setdefault(_uid(event), []).append((number, event))
        elif not _uid(event) and series.is_repeating(event):  # no UID: a series of its own
            groups[f"#{number}"] = [(number, event)]
    return groups


def _calendar(text: str) -> Calendar:
    try:
        calendar = Calendar.from_ical(text)
    except Exception:  # the parser raises many kinds of errors for text that is not iCal
        raise ImportFileError(NOT_ICAL) from None
    if calendar.name != "VCALENDAR":
        raise ImportFileError(NOT_ICAL)
    return calendar


def _uid(event) -> str:
    return str(event.get("UID", "")).strip()


def check_event(row: Row, event) -> bool:
    """Note broken date properties and unknown zones; False when the times cannot be read."""
    broken = [name for name in CHECKED for value in _values(event, name)
              if isinstance(value, vBroken)]
    for name in broken:
        row.error("end" if name in ("DTEND", "DURATION") else "start",
                  f"{name} “{_values(event, name)[0]}” cannot be read")
    if broken:
        return False
    unknown = fix_zones(event)
    for name in unknown:
        row.error("start", f"the time zone “{name}” is unknown: export the calendar with its "
                           "time zones (VTIMEZONE) or in UTC")
    return not unknown


def _values(event, name: str) -> list:
    value = event.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


def fix_zones(event) -> list[str]:
    """Give times named by an Outlook/Windows zone their IANA zone; the names still unknown."""
    unknown: list[str] = []
    for name in TIMED:
        values = _values(event, name)
        fixed = [_zoned(value, unknown) for value in values]
        if any(new is not old for new, old in zip(fixed, values, strict=True)):
            event.pop(name)
            for value in fixed:
                event.add(name, value)
    return sorted(set(unknown))


def _zoned(prop, unknown: list[str]):
    """The property with its TZID resolved, or itself (the parser resolved it, or it floats)."""
    tzid = str(prop.params.get("TZID", "")).strip()
    times = [d.dt for d in prop.dts] if isinstance(prop, vDDDLists) else [prop.dt]
    naive = [t for t in times if isinstance(t, datetime) and t.tzinfo is None]
    if not tzid or not naive:
        return prop
    zone = zones.find(tzid)
    if zone is None:
        unknown.append(tzid)
        return prop
    aware = [t.replace(tzinfo=zone) if isinstance(t, datetime) else t for t in times]
    return aware if isinstance(prop, vDDDLists) else aware[0]


def event_row(number: int, event, shared: Context, occurrence: str = "") -> Row:
    """Parse one VEVENT (or one visit of a repeating one); problems are noted on the row."""
    who = people.client_of(event, shared.owners, shared.options.region,
                             shared.options.business_phone)
    title = str(event.get("SUMMARY", "")).strip()
    location = str(event.get("LOCATION", "")).strip()
    uid = _uid(event) or None
    row = Row(number, "event", occurrence=occurrence,
              raw={"title": title, "location": location, "mobile": who.mobile,
                   "email": who.email, "first_name": who.name,
                   "start": _text(event.get("DTSTART")), "end": _text(event.get("DTEND"))})
    row.client = {"first_name": who.first, "last_name": who.last, "company": ""}
    _contact(row, who, shared.options.region)
    start = end = None
    if occurrence or check_event(row, event):
        start = _time(row, "start", event.get("DTSTART"), shared)
        end = _end(row, event, start, shared) if start else None
    check_span(row, start, end)
    if not title:
        row.error("title", "the event has no SUMMARY (title)")
    for column, limit in LIMITS:
        value = title if column == "title" else location if column == "location" else \
            row.client[column]
        if len(value) > limit:
            row.error(column, f"{column} is longer than {limit} characters")
    if uid and len(uid) > 255:
        row.error("external_uid", "the UID is longer than 255 characters")
    status = str(event.get("STATUS", "")).upper()
    row.appointment = {"start_at": start, "end_at": end, "title": title,
                       "staff": "", "location": location, "job_number": None,
                       "status": "cancelled" if status == "CANCELLED" else "scheduled",
                       "external_uid": uid}
    return row


def _contact(row: Row, who: "people.Who", region: str) -> None:
    if who.mobile or who.email:
        # Text a number that can take texts; else write to the email; else refuse the landline.
        textable = who.mobile and people.textable(who.mobile, region)
        method = "text" if who.mobile and (textable or not who.email) else "email"
        contact(row, who.mobile, who.email, method, region)
    else:
        row.error("client", who.why_none)


def _text(prop) -> str:
    """A date property as text for the preview, even when it is broken."""
    try:
        value = prop.dt
    except (AttributeError, ValueError):
        return str(prop or "")
    return value.isoformat() if isinstance(value, date) else str(value)


def _time(row: Row, column: str, prop, shared: Context) -> datetime | None:
    """An iCal DTSTART/DTEND in UTC; floating times are read in the calendar's zone."""
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
    if value.tzinfo is None and shared.floating is None:
        row.error(column, f"the calendar's time zone (X-WR-TIMEZONE) “{shared.floating_name}” "
                          "is unknown")
        return None
    return in_zone(row, column, value.isoformat(), value, shared.floating)


def _end(row: Row, event, start: datetime, shared: Context) -> datetime | None:
    if event.get("DTEND") is not None:
        return _time(row, "end", event.get("DTEND"), shared)
    duration = getattr(event.get("DURATION"), "dt", None)
    if isinstance(duration, timedelta):
        return start + duration
    row.error("end", "the event has no DTEND or DURATION")
    return None



def _series_rows(members: list, shared: Context) -> list[Row]:
    """The visits of one repeating event within the window; a broken member fails the series."""
    number = next((n for n, e in members if e.get("RECURRENCE-ID") is None), members[0][0])
    failed = [event_row(n, event, shared) for n, event in members
              if not check_event(Row(n), event)]
    for row in failed:
        row.error("start", "this is a repeating event: none of its visits can be imported")
    if failed:
        return failed
    try:
        found = series.visits([event for _, event in members], shared.timezones,
                              *series.window(shared.options))
    except series.SeriesError as exc:
        row = event_row(number, dict(members)[number], shared)
        row.error("start", f"the repeating rule cannot be read ({exc})")
        return [row]
    return [_visit_row(number, visit, shared) for visit in found]


def _visit_row(number: int, visit, shared: Context) -> Row:
    start = visit.get("DTSTART").dt
    label = f"visit on {start:%Y-%m-%d %H:%M}" if isinstance(start, datetime) else \
        f"visit on {start:%Y-%m-%d}"
    row = event_row(number, visit, shared, occurrence=label)
    original = (visit.get("RECURRENCE-ID") or visit.get("DTSTART")).dt
    if isinstance(original, datetime) and original.tzinfo is None:
        original = original.replace(tzinfo=shared.floating or ZoneInfo(shared.options.tz))
    if row.appointment["external_uid"]:
        row.appointment["external_uid"] = series.visit_uid(row.appointment["external_uid"],
                                                           original)
    return row
