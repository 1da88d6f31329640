"""What the preview of a calendar says: the right reason, and counts of what will happen."""

from sqlalchemy import select

from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import confirm, text, upload


def _calendar(*events: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Tidings//EN",
                        *events, "END:VCALENDAR", ""])


def _event(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTART:20300304T093000Z",
                        "DURATION:PT30M", "SUMMARY:Visit", *lines, "END:VEVENT"])


def test_no_attendee_is_not_called_an_attendee_without_a_name(app, client_for):
    client = client_for(Role.EDIT)
    content = _calendar(_event("a", r"DESCRIPTION:Mobile: (202) 555-0143"),
                        _event("b", r"DESCRIPTION:Name: Bo Diaz\nMobile: (202) 555-0144"))
    body = text(upload(client, content.encode(), "calendar.ics"))
    assert "event 1: no client has this mobile, and the event names no one to create" in body
    assert "ATTENDEE has no name" not in body
    assert "event 2:" not in body


def test_events_without_a_client_are_not_counted_as_new_clients(app, client_for):
    client = client_for(Role.EDIT)
    content = _calendar(_event("a", "ATTENDEE;CN=Ana Lopez:mailto:ana@example.com"),
                        _event("b"), _event("c", "DESCRIPTION:Room booked"))
    body = text(upload(client, content.encode(), "calendar.ics"))
    assert "1 new client " in body or "1 new client\n" in body
    assert "3 new clients" not in body and "2 new clients" not in body


def test_utf8_with_a_bom_and_utf16_calendars_are_read(app, client_for):
    client = client_for(Role.EDIT)
    content = _calendar(_event("a", "ATTENDEE;CN=Zoë Ünal:mailto:zoe@example.com"))
    for data in (b"\xef\xbb\xbf" + content.encode(), content.encode("utf-16")):
        preview = upload(client, data, "calendar.ics")
        assert preview.status_code == 200, text(preview)
    confirm(client, preview)
    zoe = db.session.scalar(select(Client))
    assert (zoe.first_name, zoe.last_name) == ("Zoë", "Ünal")
