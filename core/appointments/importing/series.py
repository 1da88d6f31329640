"""Repeating events (RRULE, RDATE, EXDATE, RECURRENCE-ID) expanded into visits within a window.

Each visit gets a stable external id, the event's UID and the visit's original start
(RECURRENCE-ID) in UTC, so importing the calendar again updates the visits it imported before,
a moved visit included, instead of adding them twice.
"""

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from core.appointments.importing.rows import MAX_ROWS, Options

MARKS = ("RRULE", "RDATE", "RECURRENCE-ID")


class SeriesError(ValueError):
    """The repeating rule of an event cannot be expanded."""


def is_repeating(event) -> bool:
    """True for a repeating event or one changed visit of it."""
    return any(event.get(name) is not None for name in MARKS)


def window(options: Options) -> tuple[date, date]:
    """The first day expanded and the day after the last (today + 90 days by default)."""
    first = options.window_start or datetime.now(ZoneInfo(options.tz)).date()
    return first, first + timedelta(days=options.window_days)


def visits(events: list, timezones: list, first: date, after: date) -> list:
    """Every visit of one repeating event (its VEVENTs of one UID) from `first` to `after`."""
    calendar = Calendar()
    for component in (*timezones, *events):
        calendar.add_component(component)
    found = []
    try:
        # Lazily and in order, so that a rule repeating every minute stops at MAX_ROWS.
        for visit in recurring_ical_events.of(calendar).after(first):
            start = visit.get("DTSTART").dt
            if (start.date() if isinstance(start, datetime) else start) >= after:
                break
            found.append(visit)
            if len(found) > MAX_ROWS:
                raise SeriesError(f"more than {MAX_ROWS:,} visits in the window")
    except SeriesError:
        raise
    except Exception as exc:  # the rule parser raises ValueError, TypeError, AttributeError...
        raise SeriesError(str(exc)[:200] or type(exc).__name__) from exc
    return found


def visit_uid(uid: str, original: datetime | date) -> str:
    """UID + the visit's original start in UTC; a UID too long to fit is hashed."""
    stamp = (original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
             if isinstance(original, datetime) else original.strftime("%Y%m%d"))
    if len(uid) + len(stamp) + 1 > 255:
        uid = "sha256:" + hashlib.sha256(uid.encode()).hexdigest()
    return f"{uid}/{stamp}"
