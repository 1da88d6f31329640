"""The marketing-consent column of an import: yes / no (true/false, 1/0) with an optional date,
checked against each client's current consent and recorded with source "import"."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update

from core.appointments.importing.dates import DateFormatError, read_date
from core.appointments.importing.rows import Row
from core.clients import consent
from core.clients.models import Client
from core.extensions import db
from core.types import utcnow

WORDS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
         "false": False, "0": False}
CHUNK = 500
CLIENTS = Client.__table__


def read(row: Row, text: str, when: str, day_first: bool, zone: ZoneInfo) -> None:
    """Note the row's consent (row.consent); a value that is not yes/no or a date is an error."""
    text, when = (text or "").strip(), (when or "").strip()
    if not text and not when:
        return
    given = WORDS.get(text.lower()) if text else True  # a date alone: consent given that day
    if given is None:
        row.error("marketing_consent", f"marketing_consent “{text}” must be yes or no "
                                       "(or true/false, 1/0)")
        return
    day = _date(row, when, day_first, zone) if when else None
    if when and day is None:
        return
    at = datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC")) if day else None
    row.consent = {"given": given, "on": day.isoformat() if day else "",
                   "at": at.isoformat() if at else ""}


def _date(row: Row, text: str, day_first: bool, zone: ZoneInfo) -> date | None:
    try:
        day = read_date(text.split("T")[0].split(" ")[0], day_first)
    except DateFormatError:
        row.error("marketing_consent", f"marketing consent date “{text}” is not a date")
        return None
    if day.year < 1900:
        row.error("marketing_consent", f"marketing consent date “{text}” is not plausible")
        return None
    if day > utcnow().astimezone(zone).date():
        row.error("marketing_consent", f"marketing consent date “{text}” is in the future")
        return None
    return day


def mark_changes(rows: list[Row]) -> None:
    """A row that writes nothing else but changes an existing client's consent is written."""
    idle = [row for row in rows if row.consent and row.client_id and row.action == "unchanged"]
    current = _current({row.client_id for row in idle})
    for row in idle:
        if current.get(row.client_id) != row.consent["given"]:
            row.action = "consent"


def _current(ids: set[int]) -> dict[int, bool]:
    found = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), CHUNK):
        query = select(Client.id, Client.marketing_consent).where(
            Client.id.in_(ordered[i:i + CHUNK]))
        found.update({cid: given for cid, given in db.session.execute(query)})
    return found


def apply(rows: list[Row], client_ids: dict[int, int]) -> list[dict]:
    """Set the consent the rows give (the last row of a client wins) where it changes; the
    audit events to insert ("given/withdrawn imported", the client's consent history)."""
    wanted: dict[int, dict] = {}
    for row in rows:
        if row.consent and not row.errors and id(row) in client_ids:
            wanted[client_ids[id(row)]] = row.consent
    current = _current(set(wanted))
    changes = {cid: c for cid, c in wanted.items() if current.get(cid, False) != c["given"]}
    if not changes:
        return []
    now = utcnow()
    params = [{"cid": cid, "given": c["given"], "at": _when(c, now)} for cid, c in
              changes.items()]
    db.session.execute(update(CLIENTS).where(CLIENTS.c.id == bindparam("cid")).values(
        marketing_consent=bindparam("given"), marketing_consent_at=bindparam("at"),
        marketing_consent_source="import"), params)
    return [_event(cid, c) for cid, c in changes.items()]


def _when(c: dict, now: datetime) -> datetime:
    return datetime.fromisoformat(c["at"]) if c.get("at") else now


def _event(client_id: int, c: dict) -> dict:
    verb = "given" if c["given"] else "withdrawn"
    dated = f" (dated {c['on']})" if c["on"] else ""
    return {"action": consent.GIVEN if c["given"] else consent.WITHDRAWN,
            "summary": f"Marketing consent {verb} {consent.SOURCES['import']}{dated}",
            "client_id": client_id, "appointment_id": None,
            "data": {"source": "import", "on": c["on"] or None}}
