"""Creating, editing, finding and listing clients."""

import re
from dataclasses import dataclass, fields
from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import or_, select

from core import paging
from core.audit.operations import record
from core.clients.models import FULL_NAME, Client, ContactMethod
from core.extensions import db
from core.messaging.models import Message
from core.phones import PhoneError, mobile_e164, pretty, timezone_of
from core.types import utcnow

PHONE_LIKE = re.compile(r"^[\d\s()+.\-/]+$")
MIN_PHONE_DIGITS = 3


class ClientError(ValueError):
    """A client could not be saved; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class ClientData:
    """What staff can set on a client (the form's cleaned values)."""

    first_name: str
    last_name: str = ""
    company: str = ""
    mobile: str = ""
    email: str = ""
    contact_method: str = ContactMethod.TEXT
    timezone: str = ""
    opted_out: bool = False


@cache
def timezone_names() -> list[str]:
    """Every IANA time zone name zoneinfo knows, sorted (for the time zone select)."""
    return sorted(available_timezones())


def get(client_id: int) -> Client | None:
    """The client with this id, or None."""
    return db.session.get(Client, client_id)


def find_by_mobile(e164: str, *, exclude_id: int | None = None) -> Client | None:
    """The client who has this mobile number, other than `exclude_id`."""
    query = select(Client).where(Client.mobile == e164)
    if exclude_id is not None:
        query = query.where(Client.id != exclude_id)
    return db.session.scalars(query.limit(1)).first()


def create_client(data: ClientData, *, actor=None, region: str | None = None) -> Client:
    """Validate and add a new client with a "client.created" audit event; the caller commits."""
    values = _clean(data, region=region)
    client = Client(**values)
    if client.opted_out:
        client.opted_out_at = utcnow()
    db.session.add(client)
    db.session.flush()
    record("client.created", f"Client {client.name} created", actor=actor, client_id=client.id)
    return client


def update_client(client: Client, data: ClientData, *, actor=None,
                  region: str | None = None) -> dict:
    """Validate and apply changes, audited as "client.edited"; returns {field: [old, new]}."""
    values = _clean(data, region=region, exclude_id=client.id)
    changes = {k: [getattr(client, k), v] for k, v in values.items() if getattr(client, k) != v}
    if not changes:
        return {}
    for key, (_old, new) in changes.items():
        setattr(client, key, new)
    if "opted_out" in changes:
        client.opted_out_at = utcnow() if client.opted_out else None
    shown = "; ".join(f"{k}: {_show(old)} → {_show(new)}" for k, (old, new) in changes.items())
    summary = f"Edited {shown}"
    record("client.edited", summary, actor=actor, client_id=client.id, data={"changes": changes})
    return changes


def _show(value) -> str:
    return "—" if value in (None, "") else str(value)


def _clean(data: ClientData, *, region: str | None, exclude_id: int | None = None) -> dict:
    """Normalise and check every field, raising ClientError for the first bad one."""
    values = {f.name: getattr(data, f.name) for f in fields(ClientData)}
    for key in ("first_name", "last_name", "company", "mobile", "email", "timezone"):
        values[key] = (values[key] or "").strip()
    if not values["first_name"]:
        raise ClientError("first_name", "Enter the client's first name.")
    values["mobile"] = _clean_mobile(values["mobile"], region, exclude_id)
    values["email"] = _clean_email(values["email"])
    values["contact_method"] = _clean_method(values)
    values["timezone"] = _clean_timezone(values["timezone"], values["mobile"])
    return values


def _clean_mobile(raw: str, region: str | None, exclude_id: int | None) -> str | None:
    if not raw:
        return None
    try:
        e164 = mobile_e164(raw, region or current_app.config["DEFAULT_REGION"])
    except PhoneError as exc:
        raise ClientError("mobile", str(exc)) from None
    other = find_by_mobile(e164, exclude_id=exclude_id)
    if other is not None:
        raise ClientError("mobile", f"{pretty(e164)} already belongs to {other.name}.")
    return e164


def _clean_email(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ClientError("email", f"“{raw}” is not a valid email address.") from None


def _clean_method(values: dict) -> str:
    try:
        method = ContactMethod(values["contact_method"] or ContactMethod.TEXT)
    except ValueError:
        raise ClientError("contact_method", "Choose how the client wants to be reached.") from None
    if method is ContactMethod.TEXT and not values["mobile"]:
        raise ClientError("mobile", "A client who prefers texts needs a mobile number.")
    if method is ContactMethod.EMAIL and not values["email"]:
        raise ClientError("email", "A client who prefers email needs an email address.")
    return method.value


def _clean_timezone(name: str, mobile: str | None) -> str:
    """The chosen zone, else the zone of the mobile number, else the business's zone."""
    if name:
        if name not in timezone_names():
            raise ClientError("timezone", f"“{name}” is not a time zone.")
        return name
    return (mobile and timezone_of(mobile)) or current_app.config["BUSINESS_TIMEZONE"]


def search_condition(text: str, region: str | None = None):
    """A WHERE clause matching clients by name, company or mobile (typed in any format)."""
    text = (text or "").strip()
    conditions = [
        FULL_NAME.icontains(text, autoescape=True),
        Client.company.icontains(text, autoescape=True),
    ]
    for digits in phone_digits(text, region):
        conditions.append(Client.mobile.contains(digits, autoescape=True))
    return or_(*conditions)


def phone_digits(text: str, region: str | None = None) -> set[str]:
    """Digit strings to look for in stored E.164 numbers when `text` looks like a number."""
    if not PHONE_LIKE.match(text or ""):
        return set()
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return set()
    found = {digits}
    try:
        number = phonenumbers.parse(text, region or current_app.config["DEFAULT_REGION"])
        # A national prefix ("07700 …" in the UK) is not part of the E.164 form.
        found.add(phonenumbers.national_significant_number(number))
    except phonenumbers.NumberParseException:
        pass
    return {d for d in found if d}


CLIENT_KEYS = (Client.last_name, Client.first_name, Client.id)
CLIENT_KEY_TYPES = (str, str, int)


def list_clients(text: str = "", *, after: str | None = None, before: str | None = None,
                 size: int = 25) -> paging.Page:
    """One page of clients sorted by last name, first name, id, filtered by `text`."""
    query = select(Client)
    if text and text.strip():
        query = query.where(search_condition(text))
    return paging.keyset(
        query,
        CLIENT_KEYS,
        lambda c: (c.last_name, c.first_name, c.id),
        after=paging.decode(after, CLIENT_KEY_TYPES),
        before=paging.decode(before, CLIENT_KEY_TYPES),
        size=size,
    )


def messages_of(client_id: int, limit: int = 50) -> list[Message]:
    """The client's newest messages (both directions), newest first."""
    query = (
        select(Message)
        .where(Message.client_id == client_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def display(client: Client) -> str:
    """A client's name with their company, for selects and headings."""
    return f"{client.name} ({client.company})" if client.company else client.name


def choices() -> list[tuple[int, str]]:
    """(id, "Name (Company)") of every client by name, for the appointment form's select."""
    query = select(Client.id, Client.first_name, Client.last_name, Client.company).order_by(
        Client.last_name, Client.first_name, Client.id
    )
    return [
        (id_, f"{first} {last}".strip() + (f" ({company})" if company else ""))
        for id_, first, last, company in db.session.execute(query)
    ]
