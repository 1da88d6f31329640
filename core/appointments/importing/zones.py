"""Time zone names as calendars write them (IANA, Windows ids, Outlook display names) → zones."""

import re
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

DISPLAY_NAMES = Path(__file__).with_name("windows_zones.tsv")
# "(UTC+10:00) ", "(GMT-07:00) ", "(GMT) " and Outlook 2003's "(GMT) Greenwich Mean Time : ".
PREFIX = re.compile(r"^\((?:UTC|GMT)(?:\s*[+-]\d{1,2}(?::?\d\d)?)?\)\s*"
                    r"(?:Greenwich Mean Time\s*:\s*)?", re.IGNORECASE)


@cache
def _display_names() -> dict[str, str]:
    """Outlook display name (lower case, without its offset) → IANA zone, from CLDR."""
    names = {}
    for line in DISPLAY_NAMES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, zone = line.split("\t")
            names[name.casefold()] = zone
    return names


def find(name: str) -> ZoneInfo | None:
    """The zone a TZID or X-WR-TIMEZONE names, or None when it cannot be told for sure."""
    name = (name or "").strip().strip('"').strip()
    if not name:
        return None
    key = WINDOWS_TO_OLSON.get(name) or _display_names().get(PREFIX.sub("", name).casefold())
    for candidate in (name, key):
        if candidate and re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", candidate):
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return None
