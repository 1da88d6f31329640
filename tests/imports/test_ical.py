"""iCal import: one appointment per event, matched by UID so a re-import never duplicates."""

from datetime import UTC, datetime

from sqlalchemy import select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import counts, text, token_of, upload


def _event(uid: str, start: str, *lines: str, end: str = "") -> str:
    end_line = f"DTEND:{end}" if end else "DURATION:PT30M"
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART:{start}", end_line, *lines,
                        "END:VEVENT"])


def _calendar(*events: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Tidings//EN", *events,
             "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()


def _import(client, content: bytes):
    preview = upload(client, content, "calendar.ics")
    assert preview.status_code == 200, text(preview)
    response = client.post("/import/confirm", data={"token": token_of(preview)})
    assert response.status_code == 303
    return preview


def test_ical_import_and_reimport_never_duplicates(app, client_for, make_client):
    client = client_for(Role.EDIT)
    kim = make_client(mobile="+12025550100")
    first = _event("visit-1@clinic", "20300304T093000", "SUMMARY:Check-up",
                   "LOCATION:Room 2", "ATTENDEE;CN=Ana Lopez:mailto:ana@example.com")
    second = _event("visit-2@clinic", "20300305T150000Z", "SUMMARY:Cleaning",
                    "X-TIDINGS-MOBILE:+1 202 555 0143", "ATTENDEE;CN=Bo Diaz:mailto:bo@example.com",
                    end="20300305T160000Z")
    third = _event("visit-3@clinic", "20300306T100000", "SUMMARY:X-ray",
                   "DESCRIPTION:Calls before coming\\nPhone: (202) 555-0100")
    content = _calendar(first, second, third)
    preview = _import(client, content)
    assert "Import 3 rows" in text(preview)
    visits = {a.external_uid: a for a in db.session.scalars(select(Appointment))}
    assert visits["visit-1@clinic"].start_at == datetime(2030, 3, 4, 14, 30, tzinfo=UTC)
    assert visits["visit-1@clinic"].location == "Room 2"
    ana = db.session.scalar(select(Client).where(Client.email == "ana@example.com"))
    assert (ana.first_name, ana.last_name, ana.contact_method) == ("Ana", "Lopez", "email")
    assert visits["visit-1@clinic"].client_id == ana.id
    bo = db.session.get(Client, visits["visit-2@clinic"].client_id)
    assert (bo.name, bo.mobile, bo.contact_method) == ("Bo Diaz", "+12025550143", "text")
    assert visits["visit-3@clinic"].client_id == kim.id  # the phone in DESCRIPTION is Kim's
    before = counts()

    again = upload(client, content, "calendar.ics")
    assert again.status_code == 200
    assert token_of(again) is None
    assert "every event is already up to date" in text(again)
    assert counts() == before

    moved = _event("visit-1@clinic", "20300304T113000", "SUMMARY:Check-up",
                   "LOCATION:Room 2", "ATTENDEE;CN=Ana Lopez:mailto:ana@example.com")
    preview = _import(client, _calendar(moved, second, third))
    assert "Import 1 row" in text(preview) and "update" in text(preview)
    assert counts()[:2] == before[:2]
    db.session.expire_all()
    visit = db.session.scalar(
        select(Appointment).where(Appointment.external_uid == "visit-1@clinic"))
    assert visit.start_at == datetime(2030, 3, 4, 16, 30, tzinfo=UTC)


def test_events_that_cannot_be_imported_are_row_errors(app, client_for):
    client = client_for(Role.EDIT)
    content = _calendar(
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20300304\r\nSUMMARY:Holiday\r\n"
        "ATTENDEE;CN=Ana:mailto:ana@example.com\r\nEND:VEVENT",
        _event("b", "20300304T093000", "SUMMARY:Nobody"),
        _event("c", "20300304T093000", "SUMMARY:No name", "ATTENDEE:mailto:who@example.com"),
        _event("d", "20300304T093000", "SUMMARY:Landline",
               "X-TIDINGS-MOBILE:+44 20 7946 0000"),
        _event("b", "20300305T093000", "SUMMARY:Same UID",
               "ATTENDEE;CN=Bo:mailto:bo@example.com"),
    )
    before = counts()
    response = upload(client, content, "calendar.ics")
    body = text(response)
    assert response.status_code == 422
    assert "event 1: all-day events cannot be imported" in body
    assert "event 2: no client: add an ATTENDEE" in body
    assert "event 3: no client has this mobile or email, and the ATTENDEE has no name" in body
    assert "event 4: mobile “+44 20 7946 0000” is a landline" in body
    assert "event 5: duplicate of event 2" in body
    assert counts() == before


def test_a_file_that_is_not_ical_is_refused(app, client_for):
    client = client_for(Role.EDIT)
    before = counts()
    for content in (b"first_name,last_name\nAna,Lopez\n", b"BEGIN:VEVENT\nEND:VEVENT\n",
                    b"\x89PNG\r\n\x1a\n\x00\x00"):
        response = upload(client, content, "calendar.ics")
        assert response.status_code == 422
        assert "This file is not an iCal (.ics) calendar." in text(response)
    assert counts() == before
