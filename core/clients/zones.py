"""Time zones a person can live in, by country, for the client form's zone list.

`available_timezones()` also holds links and non-zones ("Factory", "localtime", "posixrules",
"US/Eastern", "Etc/GMT+5"); the tz database's own zone.tab lists, per country, the zones people
live in, with a comment telling them apart ("Eastern (most areas)"). Both tables ship in
core/clients/data (from the tzdata package, with their source noted at the top).
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import available_timezones

DATA = Path(__file__).parent / "data"
UTC_ZONE = "UTC"


@dataclass(frozen=True)
class Zone:
    """One zone.tab row: the zone, its country (ISO 3166 code and name) and the tz comment."""

    name: str
    country: str
    country_name: str
    comment: str = ""

    @property
    def city(self) -> str:
        """The zone's last part as people write it: "America/Port_of_Spain" → "Port of Spain"."""
        return self.name.rsplit("/", 1)[-1].replace("_", " ")


def _rows(filename: str) -> list[list[str]]:
    lines = (DATA / filename).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """ISO 3166 country code → English name ("US" → "United States")."""
    return {row[0]: row[1] for row in _rows("iso3166.tab")}


@lru_cache(maxsize=1)
def zones() -> tuple[Zone, ...]:
    """Every zone people live in that this Python's zoneinfo knows, in zone.tab's order."""
    known = available_timezones()
    names = countries()
    return tuple(Zone(row[2], row[0], names.get(row[0], row[0]), row[3] if len(row) > 3 else "")
                 for row in _rows("zone.tab") if row[2] in known)


def country_of(zone_name: str) -> str | None:
    """The country code a zone belongs to ("Europe/Paris" → "FR"), or None."""
    return next((z.country for z in zones() if z.name == zone_name), None)


def for_country(country: str) -> tuple[list[Zone], list[Zone]]:
    """The country's zones (in zone.tab's geographic order), then every other zone by name."""
    country = (country or "").upper()
    home = [z for z in zones() if z.country == country]
    rest = sorted((z for z in zones() if z.country != country), key=lambda z: z.name)
    return home, rest


def is_listed(zone_name: str) -> bool:
    """True for a zone on the list (or UTC)."""
    return zone_name == UTC_ZONE or any(z.name == zone_name for z in zones())
