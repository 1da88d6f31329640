"""What an import remembers between uploads: the business's own email addresses."""

import re
from datetime import date

from core import phones, settings
from core.appointments.importing.rows import WINDOW_DAYS, Options

KEY = "import_own_addresses"


def own_addresses() -> str:
    """The remembered addresses, as the upload form shows them."""
    return settings.get(KEY) or ""


def own_set() -> frozenset[str]:
    """The remembered addresses as a set (lower case)."""
    return frozenset(a for a in re.split(r"[\s,;]+", own_addresses().lower()) if "@" in a)


def remember_own_addresses(text: str) -> frozenset[str]:
    """Store the addresses typed on the upload form ("this is me"); the caller commits."""
    found = sorted({a.lower() for a in re.split(r"[\s,;]+", text or "") if "@" in a})
    settings.set(KEY, ", ".join(found))
    return frozenset(found)


def add_own_address(address: str) -> frozenset[str]:
    """Add one address to the remembered ones ("this is me"); the caller commits."""
    return remember_own_addresses(", ".join(sorted(own_set() | {address.strip().lower()})))


def options(*, tz: str, region: str, own: frozenset[str], window_start: date | None = None,
            window_days: int | None = None) -> Options:
    """Reading options with the business's own number from the Settings page."""
    try:
        phone = phones.to_e164(settings.get("business_phone"), region)
    except phones.PhoneError:
        phone = ""
    return Options(tz=tz, region=region, own_addresses=own, business_phone=phone,
                   window_start=window_start, window_days=window_days or WINDOW_DAYS)
