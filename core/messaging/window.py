"""The sending window (quiet hours): texts and calls reach a recipient only between its start
and end, read in the recipient's own time zone.

The recipient's zone is the client's time zone, else the zone of their mobile number (when
the number has exactly one), else the business zone. A window whose start equals its end is
always open (no quiet hours); a start after the end is a window over midnight (22:00–06:00).
Email is not held: it waits in an inbox and rings no phone.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import phones, settings

DEFAULT_START, DEFAULT_END = "08:00", "21:00"


@dataclass(frozen=True)
class Window:
    """The daily hours during which a recipient may be texted or called."""

    start: time
    end: time

    @property
    def always_open(self) -> bool:
        return self.start == self.end

    def is_open(self, moment: datetime, zone: ZoneInfo) -> bool:
        """True when `moment` falls inside the window in `zone`."""
        if self.always_open:
            return True
        local = moment.astimezone(zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_open(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment` when the window is open then, else the window's next start (in UTC)."""
        if self.is_open(moment, zone):
            return moment
        local = moment.astimezone(zone)
        start = datetime.combine(local.date(), self.start, zone)
        if start <= local:
            start = datetime.combine(local.date() + timedelta(days=1), self.start, zone)
        return start.astimezone(UTC)

    def label(self) -> str:
        """'08:00–21:00', or 'none' when there are no quiet hours."""
        if self.always_open:
            return "none"
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def parse_time(text: str) -> time:
    """'08:00' as a time; raises ValueError for anything else."""
    return datetime.strptime((text or "").strip(), "%H:%M").time()


def current() -> Window:
    """The window set on the Settings page (default 08:00–21:00)."""
    values = settings.snapshot(["sending_window_start", "sending_window_end"])
    try:
        return Window(parse_time(values["sending_window_start"]),
                      parse_time(values["sending_window_end"]))
    except ValueError:
        return Window(parse_time(DEFAULT_START), parse_time(DEFAULT_END))


def marketing() -> Window:
    """The window marketing keeps, with no override: the sending window (08:00–21:00 when
    quiet hours are off), ending earlier when a stricter end is set (e.g. 20:00)."""
    base = current()
    if base.always_open or base.start > base.end:
        base = Window(parse_time(DEFAULT_START), parse_time(DEFAULT_END))
    try:
        end = parse_time(settings.get("marketing_window_end") or "")
    except ValueError:
        return base
    return Window(base.start, end) if base.start < end < base.end else base


@lru_cache(maxsize=1024)
def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone of an IANA name, or None for a blank or unknown one."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


_BLOCKS: dict[tuple[str, int], ZoneInfo | None] = {}
BLOCKS = 65536  # number blocks remembered per process


def zone_of_number(mobile: str | None) -> ZoneInfo | None:
    """The zone of a number when it has exactly one (a US area code, most countries)."""
    if not mobile:
        return None
    # libphonenumber's zone data is keyed by up to 9 leading digits: numbers of one length
    # sharing them share a zone, so a mass send parses each block once, not every number
    # (parsing costs ~60 µs).
    block = (mobile[:10], len(mobile))
    if block not in _BLOCKS:
        if len(_BLOCKS) >= BLOCKS:
            _BLOCKS.clear()
        _BLOCKS[block] = zone_named(phones.timezone_of(mobile))
    return _BLOCKS[block]


def zone_for(timezone: str | None, mobile: str | None, fallback: ZoneInfo) -> ZoneInfo:
    """A recipient's zone: theirs, else their number's, else `fallback` (the business's)."""
    return zone_named(timezone) or zone_of_number(mobile) or fallback
