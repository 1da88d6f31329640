"""Who an iCal event is for: the client among its attendees, their number and their name.

The organizer and the business's own addresses are never the client. A number is taken only
from a labelled line of DESCRIPTION ("Mobile: …") or X-TIDINGS-MOBILE, never from anywhere in
the text (hotels, airlines and the practice itself write numbers there too), and never when it
is the business's own number.
"""

import re
from collections import Counter
from dataclasses import dataclass

import phonenumbers

from core import phones
from core.appointments.importing.fields import split_name

PHONE_LINE = re.compile(
    r"^[ \t*-]*(?:(?:client|patient|customer|contact|home|work)[ \t]+)?"
    r"(?:mobile|cell|cellphone|phone|tel|telephone)(?:[ \t]+phone)?"
    r"(?:[ \t]*(?:number|no\.?|#))?[ \t]*[:=][ \t]*(?P<value>.+)$", re.IGNORECASE | re.MULTILINE)
NAME_LINE = re.compile(r"^[ \t*-]*(?:client|patient|customer|name)(?:[ \t]+name)?[ \t]*:"
                       r"[ \t]*(?P<value>.+)$", re.IGNORECASE | re.MULTILINE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NOT_PEOPLE = {"ROOM", "RESOURCE", "GROUP"}


@dataclass
class Who:
    """The client an event names: email, name and mobile as written, or why there is none."""

    email: str = ""
    name: str = ""
    mobile: str = ""
    why_none: str = ""

    @property
    def first(self) -> str:
        return split_name(self.name)[0]

    @property
    def last(self) -> str:
        return split_name(self.name)[1]


def owners(calendar, own_addresses) -> frozenset[str]:
    """The business's own addresses: those it named, and a Google calendar's owner."""
    found = {address.strip().lower() for address in own_addresses if address.strip()}
    name = str(calendar.get("X-WR-CALNAME", "")).strip().lower()
    if EMAIL.match(name):  # Google names a primary calendar after its owner's address
        found.add(name)
    return frozenset(found)


def address(prop) -> str:
    """The lower-case email of a mailto: ATTENDEE or ORGANIZER, else ''."""
    text = str(prop or "").strip()
    return text[7:].strip().lower() if text.lower().startswith("mailto:") else ""


def _attendees(event) -> list:
    found = event.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def client_of(event, owned: frozenset[str], region: str, business_phone: str) -> Who:
    """The event's client: the first attendee who is neither the organizer nor the business."""
    excluded = owned | {address(event.get("ORGANIZER"))}
    people = [(address(a), str(a.params.get("CN", "")).strip()) for a in _attendees(event)
              if address(a) and str(a.params.get("CUTYPE", "")).upper() not in NOT_PEOPLE]
    others = [(email, name) for email, name in people if email not in excluded]
    description = str(event.get("DESCRIPTION", ""))
    mobile = (str(event.get("X-TIDINGS-MOBILE", "")).strip()
              or labelled_phone(description, region, business_phone))
    email, name = others[0] if others else ("", "")
    if not name or "@" in name:  # Google repeats the address as the name when it has none
        match = NAME_LINE.search(description)
        name = match["value"].strip() if match else ""
    who = Who(email=email, name=name, mobile=mobile)
    if people and not others and not mobile:
        who.why_none = ("no client: every ATTENDEE is the organizer or one of your own "
                        "addresses; the client is the other attendee")
    elif not email and not mobile:
        who.why_none = ("no client: add an ATTENDEE with a mailto: email, or a labelled phone "
                        "line (“Mobile: …”) in DESCRIPTION, or X-TIDINGS-MOBILE")
    return who


def labelled_phone(text: str, region: str, business_phone: str) -> str:
    """The number on the first "Phone:", "Mobile:", "Tel:" or "Cell:" line not the business's."""
    for line in PHONE_LINE.finditer(text):
        value = line["value"].strip()
        match = next(iter(phonenumbers.PhoneNumberMatcher(value, region)), None)
        number = match.raw_string if match else value
        if not business_phone or _e164(number, region) != business_phone:
            return number
    return ""


def _e164(text: str, region: str) -> str | None:
    try:
        return phones.to_e164(text, region)
    except phones.PhoneError:
        return None


def textable(text: str, region: str) -> bool:
    try:
        phones.mobile_e164(text, region)
    except phones.PhoneError:
        return False
    return True


def owner_hint(events, owned: frozenset[str]) -> tuple[str, int, int] | None:
    """The address attending more than half of the events (address, its events, all events),
    unless known as the business's own: probably the calendar owner, to be marked as "me"."""
    counts = Counter(email for event in events
                     for email in {address(a) for a in _attendees(event)} if email)
    if len(events) < 3 or not counts:
        return None
    email, seen = counts.most_common(1)[0]
    if email in owned or seen * 2 <= len(events):
        return None
    return email, seen, len(events)
