"""A client's YES or NO: the Inbox and the message page show the appointment it acted on, and the
appointment's history credits the client, not "System"."""

from datetime import UTC, datetime, timedelta

import pytest

from core import settings
from core.auth.models import Role
from core.confirmations.operations import mark_requested
from core.extensions import db
from core.messaging.models import Direction, Message
from core.simulator.operations import send_reply


def _at(days: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


@pytest.fixture
def asked(make_client, make_appointment):
    """Ann was asked to confirm two visits, coded 1 and 2."""
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    visits = [make_appointment(client=ann, start_at=_at(d), title=title)
              for d, title in ((1, "Check-up"), (2, "Cleaning"))]
    mark_requested([v.id for v in visits])
    db.session.commit()
    return ann, visits


def _inbound(body: str) -> Message:
    return db.session.scalars(db.select(Message).where(Message.direction == Direction.IN,
                                                       Message.body == body)).one()


def test_the_inbox_shows_the_appointment_a_no_cancelled(client_for, asked, run_worker):
    settings.set("confirmation_cancel_on_no", True)
    ann, (checkup, cleaning) = asked
    send_reply(ann.mobile, "NO 2")
    send_reply(ann.mobile, "Thanks")
    run_worker()
    http = client_for(Role.READ_ONLY)
    inbox = http.get("/messages/inbox").get_data(as_text=True)
    no_row = inbox[inbox.index(f'id="message-{_inbound("NO 2").id}"'):]
    no_row = no_row[:no_row.index("</tr>")]
    assert "Cancelled" in no_row and "Cleaning" in no_row and "Check-up" not in no_row
    assert f"/appointments/{cleaning.id}" in no_row
    thanks_row = inbox[inbox.index(f'id="message-{_inbound("Thanks").id}"'):]
    thanks_row = thanks_row[:thanks_row.index("</tr>")]
    assert "Cancelled" not in thanks_row and "Cleaning" not in thanks_row

    detail = http.get(f"/messages/{_inbound('NO 2').id}").get_data(as_text=True)
    assert "<dt>This reply</dt>" in detail and "Cleaning" in detail
    assert "<span class=\"muted\">none</span>" not in detail  # Appointment: the cancelled one


def test_a_yes_shows_confirmed_in_the_inbox(client_for, asked, run_worker):
    ann, (checkup, _) = asked
    send_reply(ann.mobile, "Yes 1")
    run_worker()
    inbox = client_for(Role.READ_ONLY).get("/messages/inbox").get_data(as_text=True)
    row = inbox[inbox.index(f'id="message-{_inbound("Yes 1").id}"'):]
    row = row[:row.index("</tr>")]
    assert "Confirmed" in row and "Check-up" in row


def test_the_history_credits_the_client_who_answered(client_for, asked, run_worker):
    ann, (checkup, cleaning) = asked
    send_reply(ann.mobile, "YES 1")
    send_reply(ann.mobile, "NO 2")
    run_worker()
    http = client_for(Role.READ_ONLY)
    for visit, word in ((checkup, "YES"), (cleaning, "NO")):
        page = http.get(f"/appointments/{visit.id}").get_data(as_text=True)
        history = page[page.index('id="history"'):]
        history = history[:history.index("</ul>")]
        line = next(li for li in history.split("<li>") if f"replied {word}" in li)
        assert "Ann Lee (client, by text)" in line and "System" not in line


def test_stop_and_start_are_credited_to_the_client(client_for, make_client, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    send_reply(ann.mobile, "STOP")
    send_reply(ann.mobile, "START")
    run_worker()
    card = client_for(Role.READ_ONLY).get(f"/clients/{ann.id}").get_data(as_text=True)
    history = card[card.index('id="history"'):]
    for word in ("replied STOP", "replied START"):
        line = next(li for li in history.split("<li>") if word in li)
        assert "Ann Lee (client, by text)" in line


def test_a_text_from_the_client_is_credited_to_them(client_for, make_client, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    send_reply(ann.mobile, "Running ten minutes late")
    card = client_for(Role.READ_ONLY).get(f"/clients/{ann.id}").get_data(as_text=True)
    history = card[card.index('id="history"'):]
    line = next(li for li in history.split("<li>") if "Running ten minutes late" in li)
    assert "Ann Lee (client)" in line and "System" not in line
