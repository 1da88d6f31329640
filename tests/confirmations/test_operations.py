"""Confirmation requests: codes for a client with several pending, the no-response expiry (a
real worker runs the job), and the change by hand with its reason."""

from datetime import timedelta

import pytest

from core import settings
from core.appointments.models import Appointment
from core.audit.operations import history
from core.confirmations import operations as confirmations
from core.confirmations.operations import ConfirmationError, mark_requested
from core.extensions import db
from core.jobs import queue
from core.types import utcnow


def _codes(*appointments):
    db.session.expire_all()
    return [db.session.get(Appointment, a.id).confirmation_code for a in appointments]


def _request(*appointments, now=None):
    mark_requested([a.id for a in appointments], now=now)
    db.session.commit()


def test_a_single_request_has_no_code_and_a_second_one_gets_2(app, make_client,
                                                               make_appointment):
    ann = make_client()
    first, second, third = (make_appointment(client=ann, start_at=utcnow() + timedelta(days=d))
                            for d in (1, 2, 3))
    _request(first)
    assert _codes(first) == [None]
    assert db.session.get(Appointment, first.id).confirmation_status == "awaiting"
    _request(second)  # the first one's text said a bare YES: it counts as 1
    assert _codes(first, second) == [None, 2]
    _request(third)
    assert _codes(first, second, third) == [None, 2, 3]
    assert "appointment.awaiting" in [e.action for e in history(appointment_id=third.id)]


def test_codes_in_one_batch_and_free_codes_are_reused(app, make_client, make_appointment):
    ann, ben = make_client(), make_client()
    a1, a2 = (make_appointment(client=ann, start_at=utcnow() + timedelta(days=d))
              for d in (1, 2))
    b1 = make_appointment(client=ben)
    _request(a1, a2, b1)
    assert _codes(a1, a2, b1) == [1, 2, None]
    confirmations.set_status(db.session.get(Appointment, a1.id), "confirmed", "test")
    db.session.commit()
    a3 = make_appointment(client=ann, start_at=utcnow() + timedelta(days=3))
    _request(a3)  # 1 is free again: a1 is answered
    assert _codes(a2, a3) == [2, 1]


def test_unanswered_requests_become_no_response(app, make_client, make_appointment,
                                                run_worker):
    now = utcnow()
    old = make_appointment(start_at=now + timedelta(days=5))
    started = make_appointment(start_at=now - timedelta(minutes=5))
    fresh = make_appointment(start_at=now + timedelta(days=5))
    _request(old, now=now - timedelta(hours=49))
    _request(started, fresh, now=now - timedelta(hours=1))
    queue("default").enqueue("core.confirmations.tasks.expire_unanswered")
    run_worker()
    statuses = [db.session.get(Appointment, a.id).confirmation_status
                for a in (old, started, fresh)]
    assert statuses == ["no_response", "no_response", "awaiting"]
    assert "appointment.no_response" in [e.action for e in history(client_id=old.client_id)]
    # The window is a setting; the injected clock looks ahead.
    settings.set("confirmation_timeout_hours", 2)
    db.session.commit()
    assert confirmations.expire(now=now + timedelta(hours=1, minutes=1)) == 1
    assert db.session.get(Appointment, fresh.id).confirmation_status == "no_response"


def test_a_change_by_hand_needs_a_reason_and_is_audited(app, make_user, make_appointment):
    editor = make_user()
    visit = make_appointment()
    with pytest.raises(ConfirmationError, match="Say why"):
        confirmations.change(visit.id, "confirmed", "  ", actor=editor)
    with pytest.raises(ConfirmationError, match="Choose"):
        confirmations.change(visit.id, "maybe", "phoned", actor=editor)
    confirmations.change(visit.id, "confirmed", "Client phoned to confirm", actor=editor)
    db.session.commit()
    assert db.session.get(Appointment, visit.id).confirmation_status == "confirmed"
    [event] = [e for e in history(client_id=visit.client_id)
               if e.action == "appointment.confirmation_changed"]
    assert "Client phoned to confirm" in event.summary and event.actor_id == editor.id
    assert event.appointment_id == visit.id
