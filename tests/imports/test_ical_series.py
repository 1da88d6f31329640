"""Repeating events: RDATE, RRULE, EXDATE and changed visits (RECURRENCE-ID) become one
appointment per visit within a window, each with a stable id so a re-import updates them."""

from datetime import UTC, datetime

from sqlalchemy import select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.extensions import db
from tests.imports.helpers import confirm, counts, fixture, text, token_of, upload

WINDOW = {"window_start": "2030-03-01", "window_days": "90"}


def _clean() -> bytes:
    """The series file without its two broken events."""
    data = fixture("repeating_series.ics")
    return data.split(b"BEGIN:VEVENT\r\nUID:broken-rule")[0] + b"END:VCALENDAR\r\n"


def _visits() -> dict[str, Appointment]:
    db.session.expire_all()
    return {a.external_uid: a for a in db.session.scalars(select(Appointment))}


def test_series_are_expanded_and_broken_ones_are_their_own_errors(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload(client, fixture("repeating_series.ics"), "series.ics", **WINDOW)
    body = text(preview)
    assert preview.status_code == 422
    assert "event 6: RRULE “FREQ=SOMETIMES” cannot be read" in body
    assert "event 7: RDATE “20300306T120000Z/PTXX” cannot be read" in body
    assert "Import the 14 valid rows and skip the 2 with errors" in body
    assert "their visits from 2030-03-01 to 2030-05-29 are read" in body
    assert confirm(client, preview, partial=True).status_code == 303
    visits = _visits()
    assert len(visits) == 14
    physio = sorted(a.start_at for uid, a in visits.items() if uid.startswith("physio-ana"))
    assert len(physio) == 6  # DTSTART and five RDATEs
    assert physio[1] == datetime(2030, 3, 11, 13, 30, tzinfo=UTC)  # EDT from March 10
    moved = visits["weekly-bo@clinic.example/20300312T180000Z"]
    assert (moved.start_at, moved.title) == (datetime(2030, 3, 13, 20, 0, tzinfo=UTC),
                                             "Braces adjustment (moved)")
    assert "weekly-bo@clinic.example/20300319T180000Z" not in visits  # EXDATE
    assert visits["weekly-bo@clinic.example/20300326T180000Z"].status == "cancelled"
    monthly = [uid for uid in visits if uid.startswith("monthly-kim")]
    assert len(monthly) == 3  # an endless rule, within the 90 days


def test_reimporting_a_series_updates_instead_of_duplicating(app, client_for):
    client = client_for(Role.EDIT)
    confirm(client, upload(client, _clean(), "series.ics", **WINDOW))
    before = counts()
    assert before[1] == 14

    again = upload(client, _clean(), "series.ics", **WINDOW)
    assert token_of(again) is None
    assert "every event is already up to date" in text(again)

    moved = _clean().replace(b"DTSTART:20300313T160000", b"DTSTART:20300314T160000").replace(
        b"DTEND:20300313T163000", b"DTEND:20300314T163000")
    preview = upload(client, moved, "series.ics", **WINDOW)
    assert "Import 1 row" in text(preview)
    assert confirm(client, preview).status_code == 303
    assert counts()[:2] == before[:2]
    visit = _visits()["weekly-bo@clinic.example/20300312T180000Z"]
    assert visit.start_at == datetime(2030, 3, 14, 20, 0, tzinfo=UTC)


def test_the_window_limits_the_visits(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload(client, _clean(), "series.ics", window_start="2030-03-01", window_days="30")
    confirm(client, preview)
    assert len(_visits()) == 8  # 4 physio, 3 braces (one cancelled), 1 monthly


def test_a_visit_changed_into_an_all_day_event_is_that_visits_error(app, client_for):
    client = client_for(Role.EDIT)
    content = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Tidings//EN",
        "BEGIN:VEVENT", "UID:w", "DTSTART;TZID=America/New_York:20300304T093000",
        "DURATION:PT30M", "RRULE:FREQ=WEEKLY;COUNT=3", "SUMMARY:Visit",
        "ATTENDEE;CN=Ana Lopez:mailto:ana@example.com", "END:VEVENT",
        "BEGIN:VEVENT", "UID:w", "RECURRENCE-ID;TZID=America/New_York:20300311T093000",
        "DTSTART;VALUE=DATE:20300311", "DTEND;VALUE=DATE:20300312", "SUMMARY:Visit",
        "ATTENDEE;CN=Ana Lopez:mailto:ana@example.com", "END:VEVENT", "END:VCALENDAR", ""])
    preview = upload(client, content.encode(), "series.ics", **WINDOW)
    assert preview.status_code == 422
    assert "event 1 (visit on 2030-03-11): all-day events cannot be imported" in text(preview)
    assert "Import the 2 valid rows and skip the 1 with errors" in text(preview)


def test_a_rule_repeating_every_minute_is_stopped_not_expanded(app, client_for):
    client = client_for(Role.EDIT)
    content = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Tidings//EN",
        "BEGIN:VEVENT", "UID:m", "DTSTART:20300304T093000Z", "DURATION:PT1M",
        "RRULE:FREQ=MINUTELY", "SUMMARY:Spam", "ATTENDEE;CN=Ana Lopez:mailto:ana@example.com",
        "END:VEVENT", "END:VCALENDAR", ""])
    body = text(upload(client, content.encode(), "series.ics", **WINDOW))
    assert "event 1: the repeating rule cannot be read (more than 5,000 visits" in body
