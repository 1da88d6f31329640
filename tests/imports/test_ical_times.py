"""iCal times: a broken date is its event's error, Outlook zone names are understood, floating
times follow X-WR-TIMEZONE, and a zone that cannot be told is an error, never a guess."""

from datetime import UTC, datetime

from sqlalchemy import select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import confirm, counts, text, upload, upload_fixture


def _starts() -> dict[str, datetime]:
    db.session.expire_all()
    return {a.title: a.start_at for a in db.session.scalars(select(Appointment))}


def test_a_broken_dtstart_dtend_or_duration_is_that_events_error(app, client_for):
    client = client_for(Role.EDIT)
    before = counts()
    preview = upload_fixture(client, "outlook_broken_dates.ics")
    body = text(preview)
    assert preview.status_code == 422
    assert "event 2: DTSTART “2030-03-05 09:30” cannot be read" in body
    assert "event 3: DURATION “30 minutes” cannot be read" in body
    assert "event 4: DTEND “20300307T1000” cannot be read" in body
    assert "event 1:" not in body
    assert counts() == before

    response = confirm(client, preview, partial=True)
    assert response.status_code == 303
    assert _starts() == {"Check-up": datetime(2030, 3, 4, 14, 30, tzinfo=UTC)}
    ana = db.session.scalar(select(Client))
    assert (ana.first_name, ana.last_name, ana.mobile) == ("Ana", "Lopez", "+12025550143")


def test_outlook_zone_names_are_mapped_and_an_unknown_zone_is_an_error(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload_fixture(client, "outlook_zone_names.ics")
    body = text(preview)
    assert preview.status_code == 422
    assert ("event 4: the time zone “Customized Time Zone” is unknown: export the calendar "
            "with its time zones (VTIMEZONE) or in UTC") in body
    assert not any(f"event {n}:" in body for n in (1, 2, 3))
    assert confirm(client, preview, partial=True).status_code == 303
    assert _starts() == {
        "Denver visit": datetime(2030, 3, 4, 16, 30, tzinfo=UTC),  # MST, UTC-7
        "Sydney visit": datetime(2030, 3, 3, 22, 30, tzinfo=UTC),  # AEDT, UTC+11
        "Berlin visit": datetime(2030, 3, 4, 8, 30, tzinfo=UTC),  # CET, UTC+1
    }


def test_floating_times_follow_x_wr_timezone(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload_fixture(client, "google_owner_attendee.ics")
    confirm(client, preview, partial=True)
    starts = _starts()
    assert starts["Boiler service"] == datetime(2030, 3, 4, 9, 30, tzinfo=UTC)  # London, GMT
    assert starts["Annual check"] == datetime(2030, 3, 5, 9, 30, tzinfo=UTC)  # given in UTC


def test_an_unknown_x_wr_timezone_is_an_error_for_floating_times_only(app, client_for):
    client = client_for(Role.EDIT)
    content = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Mars/Olympus\r\n"
               b"BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20300304T093000\r\nDURATION:PT30M\r\n"
               b"SUMMARY:Floating\r\nATTENDEE;CN=Ana Lopez:mailto:ana@example.com\r\nEND:VEVENT\r\n"
               b"BEGIN:VEVENT\r\nUID:u\r\nDTSTART:20300304T093000Z\r\nDURATION:PT30M\r\n"
               b"SUMMARY:In UTC\r\nATTENDEE;CN=Ana Lopez:mailto:ana@example.com\r\nEND:VEVENT\r\n"
               b"END:VCALENDAR\r\n")
    body = text(upload(client, content, "calendar.ics"))
    assert "event 1: the calendar&#39;s time zone (X-WR-TIMEZONE) “Mars/Olympus” is unknown" in body
    assert "event 2:" not in body


def test_a_latin1_calendar_is_read_and_said_so(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload_fixture(client, "latin1.ics")
    body = text(preview)
    assert preview.status_code == 200, body
    assert "read as Windows-1252" in body
    confirm(client, preview)
    visit = db.session.scalar(select(Appointment))
    assert (visit.title, visit.location) == ("Révision annuelle", "Cabinet Müller")
    juergen = db.session.get(Client, visit.client_id)
    assert (juergen.first_name, juergen.last_name) == ("Jürgen", "Müller")
