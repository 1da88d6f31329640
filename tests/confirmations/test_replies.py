"""Replies to confirmation requests through the simulator webhook and a real worker: codes,
a bare YES, NO flagged for staff, and replies that are neither."""

from datetime import UTC, datetime, timedelta

import pytest

from core.appointments.models import Appointment
from core.auth.models import Role
from core.confirmations.operations import mark_requested
from core.conversations.keywords import is_conversational
from core.conversations.models import Conversation
from core.extensions import db
from core.simulator.operations import send_reply
from tests.conversations.test_keywords import phone_texts


def _at(days):
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 19, 30, tzinfo=UTC)


def _requested(make_appointment, client, *days):
    visits = [make_appointment(client=client, start_at=_at(d)) for d in days]
    for visit in visits:  # one request after the other, as separate sends
        mark_requested([visit.id])
        db.session.commit()
    return visits


def _status(appointment):
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id).confirmation_status


def test_yes_with_a_code_and_a_bare_yes(app, make_client, make_appointment, run_worker):
    ann = make_client(mobile="+12025550001")
    first, second = _requested(make_appointment, ann, 1, 2)
    make_appointment(client=ann, start_at=_at(3))  # scheduled, never asked: not pending
    send_reply(ann.mobile, "Yes 2")
    run_worker()
    assert (_status(first), _status(second)) == ("awaiting", "confirmed")
    send_reply(ann.mobile, "YES")  # one request left: a bare YES answers it
    run_worker()
    assert _status(first) == "confirmed"
    assert all("is confirmed" in t for t in phone_texts(ann.mobile))


def test_a_bare_yes_with_several_coded_asks_which(app, make_client, make_appointment,
                                                  run_worker):
    ann = make_client(mobile="+12025550001")
    visits = [make_appointment(client=ann, start_at=_at(d)) for d in (1, 2)]
    mark_requested([v.id for v in visits])  # one send asking for both: codes 1 and 2
    db.session.commit()
    send_reply(ann.mobile, "yes")
    run_worker()
    [question] = phone_texts(ann.mobile)
    assert "YES 1 for" in question and "YES 2 for" in question
    send_reply(ann.mobile, "YES 1")
    run_worker()
    assert [_status(v) for v in visits] == ["confirmed", "awaiting"]


def test_no_declines_and_flags_the_thread(app, make_client, make_appointment, run_worker):
    ann = make_client(mobile="+12025550001")
    [visit] = _requested(make_appointment, ann, 1)
    send_reply(ann.mobile, "No.")
    run_worker()
    assert _status(visit) == "declined"
    assert db.session.get(Appointment, visit.id).status == "scheduled"
    conversation = db.session.get(Conversation, ann.id)
    assert conversation.flagged_at is not None and conversation.closed_at is None
    assert "Declined" in conversation.flag_reason


@pytest.mark.parametrize("text, answered", [
    ("Can I come Thursday instead?", False),  # a question
    ("I will be a few minutes late tomorrow", False),  # a sentence (5+ words)
    ("maybe", True),  # a word that could be a mistyped keyword
])
def test_a_reply_that_is_not_yes_or_no_is_unrecognised(app, make_client, make_appointment,
                                                       run_worker, text, answered):
    ann = make_client(mobile="+12025550001")
    [visit] = _requested(make_appointment, ann, 1)
    send_reply(ann.mobile, text)
    run_worker()
    assert _status(visit) == "unrecognised"
    conversation = db.session.get(Conversation, ann.id)
    assert conversation.flagged_at is not None and conversation.closed_at is None
    assert bool(phone_texts(ann.mobile)) is answered
    # The request still waits for its answer: YES confirms it.
    send_reply(ann.mobile, "YES")
    run_worker()
    assert _status(visit) == "confirmed"


def test_what_counts_as_a_question_or_a_sentence():
    assert is_conversational("Thursday?")
    assert is_conversational("Is it ok if I come later")
    assert not is_conversational("ok see you")
    assert not is_conversational("AUTO-REPLY: I am away")


def test_a_flagged_thread_shows_in_conversations_until_closed(app, client_for, make_client,
                                                              make_appointment, run_worker):
    ann = make_client(first_name="Ann", mobile="+12025550001")
    _requested(make_appointment, ann, 1)
    send_reply(ann.mobile, "NO")
    run_worker()
    staff = client_for(Role.EDIT)
    listing = staff.get("/conversations/?state=flagged").get_data(as_text=True)
    assert "Ann" in listing and "Flagged: Declined" in listing
    assert "Flagged: Declined" in staff.get(f"/conversations/{ann.id}").get_data(as_text=True)
    staff.post(f"/conversations/{ann.id}/close", data={"closed": "1"})
    assert db.session.get(Conversation, ann.id).flagged_at is None
    assert "Ann" not in staff.get("/conversations/?state=flagged").get_data(as_text=True)
