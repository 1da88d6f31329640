"""Phone numbers: parse to E.164, refuse what cannot receive a text, guess the time zone."""

from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType, timezone

TEXTABLE = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,  # e.g. US and Canada, where the two share ranges
}


class PhoneError(ValueError):
    """A number that was refused, with a message fit to show the person who typed it."""


def parse(raw: str, region: str = "US") -> phonenumbers.PhoneNumber:
    """Parse a number typed by a person; national numbers are read in `region`."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("Enter a phone number.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"“{text}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"“{text}” is not a valid phone number.")
    return number


def to_e164(raw: str, region: str = "US") -> str:
    """Any valid number in E.164 (+15551234567)."""
    return phonenumbers.format_number(parse(raw, region), phonenumbers.PhoneNumberFormat.E164)


def mobile_e164(raw: str, region: str = "US") -> str:
    """A number that can receive texts, in E.164; landlines and the like are refused."""
    number = parse(raw, region)
    if phonenumbers.number_type(number) not in TEXTABLE:
        raise PhoneError(
            f"“{raw.strip()}” is a landline or service number and cannot receive texts."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def kind(number: str | None) -> str | None:
    """'mobile', 'landline' or 'invalid' for a stored number; None when there is none.

    Clients store it with their mobile (`Client.mobile_kind`), so a mass send does not run
    libphonenumber once per recipient."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, None if number.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    return "mobile" if phonenumbers.number_type(parsed) in TEXTABLE else "landline"


def timezone_of(e164: str) -> str | None:
    """The time zone of a number when it has exactly one (a US area code, most countries)."""
    try:
        zones = timezone.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def pretty(e164: str | None) -> str:
    """A number for display in its international format."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


__all__ = ["PhoneError", "kind", "mobile_e164", "parse", "pretty", "timezone_of",
           "to_e164"]
