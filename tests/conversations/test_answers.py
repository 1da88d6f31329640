"""YES/NO answers to appointments, auto-responses and their loop guard, two-way off."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core import settings
from core.appointments.models import Appointment
from core.audit.operations import history
from core.conversations.autoresponse import GUARD_SECONDS, guard_key
from core.extensions import db
from core.jobs import redis
from core.messaging.models import MessageEvent
from core.simulator.operations import send_reply
from tests.conversations.test_keywords import phone_texts


def _switch(**values):
    for key, value in values.items():
        settings.set(key, value)
    db.session.commit()


def _at(days, hour=14, minute=30):
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour + 5, minute, tzinfo=UTC)


def test_yes_confirms_the_single_pending_appointment(make_client, make_appointment, run_worker):
    ann = make_client(mobile="+12025550001")
    visit = make_appointment(client=ann)
    send_reply(ann.mobile, "Yes!")
    run_worker()
    assert db.session.get(Appointment, visit.id).status == "scheduled"
    assert "appointment.confirmed" in [e.action for e in history(appointment_id=visit.id)]
    [answer] = phone_texts(ann.mobile)
    assert "is confirmed" in answer
    # Answered: a second YES has nothing pending and is not understood.
    redis().delete(guard_key(ann.mobile))
    send_reply(ann.mobile, "YES")
    run_worker()
    assert "didn't understand" in phone_texts(ann.mobile)[-1]


def test_no_declines_and_cancels_only_when_settings_say_so(make_client, make_appointment,
                                                          run_worker):
    ann = make_client(mobile="+12025550001")
    visit = make_appointment(client=ann)
    send_reply(ann.mobile, "no")
    run_worker()
    visit = db.session.get(Appointment, visit.id)
    assert (visit.status, visit.confirmation_status) == ("scheduled", "declined")
    assert "appointment.declined" in [e.action for e in history(appointment_id=visit.id)]
    assert "We will be in touch" in phone_texts(ann.mobile)[0]

    _switch(confirmation_cancel_on_no=True)
    ben = make_client(mobile="+12025550002")
    other = make_appointment(client=ben)
    send_reply(ben.mobile, "NO")
    run_worker()
    other = db.session.get(Appointment, other.id)
    assert (other.status, other.confirmation_status) == ("cancelled", "declined")
    assert "appointment.cancelled" in [e.action for e in history(appointment_id=other.id)]
    assert "is cancelled" in phone_texts(ben.mobile)[0]


def test_several_pending_ask_for_a_code_and_yes_2_confirms_the_second(
        make_client, make_appointment, run_worker):
    ann = make_client(mobile="+12025550001")
    first = make_appointment(client=ann, start_at=_at(1))
    second = make_appointment(client=ann, start_at=_at(2))
    make_appointment(client=ann, start_at=_at(-1))  # past: not pending
    send_reply(ann.mobile, "YES")
    run_worker()
    [question] = phone_texts(ann.mobile)
    assert "YES 1 for" in question and "YES 2 for" in question and "YES 3" not in question
    assert "2:30 PM" in question
    assert all(e.action != "appointment.confirmed" for e in history(appointment_id=second.id))
    send_reply(ann.mobile, "yes 2")
    run_worker()
    assert "appointment.confirmed" in [e.action for e in history(appointment_id=second.id)]
    assert "appointment.confirmed" not in [e.action for e in history(appointment_id=first.id)]
    assert "is confirmed" in phone_texts(ann.mobile)[-1]


def test_thanks_gets_one_welcome_and_the_guard_stops_a_loop(make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    for _ in range(3):
        send_reply(ann.mobile, "Thank you!")
        run_worker()
    assert phone_texts(ann.mobile) == ["You're welcome!"]
    ttl = redis().ttl(guard_key(ann.mobile))
    assert GUARD_SECONDS - 5 <= ttl <= GUARD_SECONDS
    # Two robots: every unrecognised text would draw an answer; only one goes per 10 minutes.
    for _ in range(3):
        send_reply(ann.mobile, "AUTO-REPLY: I am away")
        run_worker()
    assert phone_texts(ann.mobile) == ["You're welcome!"]
    redis().delete(guard_key(ann.mobile))  # ten minutes later
    send_reply(ann.mobile, "AUTO-REPLY: I am away")
    run_worker()
    assert "didn't understand" in phone_texts(ann.mobile)[-1]


def test_auto_responses_can_be_switched_off(make_client, run_worker):
    _switch(autoreply_thanks=False, autoreply_unrecognised=False)
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "thanks")
    run_worker()
    send_reply(ann.mobile, "running late")
    run_worker()
    assert phone_texts(ann.mobile) == []
    codes = db.session.scalars(select(MessageEvent.code).where(
        MessageEvent.code.like("twoway:%")).order_by(MessageEvent.id)).all()
    assert codes == ["twoway:thanks", "twoway:other"]


def test_with_two_way_off_the_sender_hears_this_number_takes_no_replies(
        make_client, make_appointment, run_worker):
    _switch(twoway_enabled=False)
    ann = make_client(mobile="+12025550001")
    visit = make_appointment(client=ann)
    send_reply(ann.mobile, "YES")
    run_worker()
    assert phone_texts(ann.mobile) == ["This number does not accept replies. Please call us "
                                       "instead."]
    assert all(e.action != "appointment.confirmed" for e in history(appointment_id=visit.id))
    # STOP still works when two-way texting is off.
    send_reply(ann.mobile, "STOP")
    run_worker()
    assert "unsubscribed" in phone_texts(ann.mobile)[-1]
    _switch(autoreply_no_replies=False)
    redis().delete(guard_key(ann.mobile))
    send_reply(ann.mobile, "START")
    run_worker()
    send_reply(ann.mobile, "hello?")
    run_worker()
    assert len(phone_texts(ann.mobile)) == 3  # the START confirmation, nothing for "hello?"
