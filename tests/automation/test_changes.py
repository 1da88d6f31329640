"""Reschedules and cancellations stop queued automated messages; status texts go once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.appointments import operations as ops
from core.auth.models import Role
from core.automation.engine import plan_rule
from core.automation.models import AutomationSend
from core.automation.status import change_status
from core.extensions import db
from core.messaging.fanout import fan_out
from core.messaging.models import Message

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _messages(appointment) -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(
        Message.appointment_id == appointment.id).order_by(Message.id)))


def _data(appointment, **changes) -> ops.AppointmentData:
    values = {k: getattr(appointment, k) for k in
              ("client_id", "start_at", "end_at", "title", "staff", "location", "status")}
    values["job_number"] = appointment.job_number or ""
    values.update(changes)
    return ops.AppointmentData(**values)


def _planned_and_fanned(rule, now):
    broadcast_id, count = plan_rule(rule, now)
    assert count == 1
    fan_out(broadcast_id)  # messages exist and wait for their delivery job


def test_reschedule_cancels_the_queued_reminder_and_plans_the_new_time(
        app, make_rule, make_appointment, run_worker):
    rule = make_rule(timing="hours_before", amount=3)
    appointment = make_appointment(start_at=NOW + timedelta(hours=2))
    _planned_and_fanned(rule, NOW)
    assert [m.status for m in _messages(appointment)] == ["queued"]

    new_start = NOW + timedelta(hours=2, minutes=30)
    ops.update_appointment(appointment, _data(appointment, start_at=new_start,
                                              end_at=new_start + timedelta(hours=1)))
    db.session.commit()
    assert [(m.status, m.reason) for m in _messages(appointment)] == [
        ("cancelled", "Rescheduled")]
    broadcast_id, count = plan_rule(rule, NOW + timedelta(minutes=1))
    assert count == 1
    run_worker()
    assert [m.status for m in _messages(appointment)] == ["cancelled", "sent"]
    sends = db.session.scalars(select(AutomationSend).order_by(AutomationSend.id)).all()
    assert [(s.status, s.appointment_start) for s in sends] == [
        ("cancelled", NOW + timedelta(hours=2)), ("planned", new_start)]


def test_moving_back_to_the_old_time_plans_it_afresh(app, make_rule, make_appointment):
    rule = make_rule(timing="hours_before", amount=3)
    start = NOW + timedelta(hours=2)
    appointment = make_appointment(start_at=start)
    _planned_and_fanned(rule, NOW)
    moved = start + timedelta(minutes=30)
    ops.update_appointment(appointment, _data(appointment, start_at=moved,
                                              end_at=moved + timedelta(hours=1)))
    db.session.commit()
    ops.update_appointment(appointment, _data(appointment, start_at=start,
                                              end_at=start + timedelta(hours=1)))
    db.session.commit()
    assert plan_rule(rule, NOW)[1] == 1


def test_cancelling_the_appointment_cancels_its_queued_reminders(app, make_rule,
                                                                 make_appointment, run_worker):
    rule = make_rule(timing="hours_before", amount=3)
    appointment = make_appointment(start_at=NOW + timedelta(hours=2))
    _planned_and_fanned(rule, NOW)
    ops.set_status(appointment, "cancelled")
    db.session.commit()
    run_worker()
    assert [(m.status, m.reason) for m in _messages(appointment)] == [
        ("cancelled", "Appointment cancelled")]
    assert plan_rule(rule, NOW + timedelta(minutes=1)) == (None, 0)


def test_en_route_sends_its_text_once(app, make_rule, make_template, make_appointment,
                                      run_worker):
    template = make_template(kind="en_route", name="On our way",
                             body="{{ staff }} is on the way to {{ location }}.")
    make_rule(kind="status", timing="on_status", status_trigger="en_route", template=template)
    appointment = make_appointment(start_at=NOW + timedelta(hours=1))
    outcome = change_status(appointment, "en_route", now=NOW)
    assert outcome.sent and "On our way" in outcome.text
    change_status(appointment, "working", now=NOW)
    again = change_status(appointment, "en_route", now=NOW)
    assert not again.sent and "sent already" in again.text
    run_worker()
    assert [(m.status, m.body) for m in _messages(appointment)] == [
        ("sent", "Dr. Lee is on the way to Main office.")]


def test_status_text_off_or_opted_out_says_why(app, make_rule, make_client, make_appointment):
    appointment = make_appointment(start_at=NOW + timedelta(hours=1))
    outcome = change_status(appointment, "working", now=NOW)
    assert outcome.changed and not outcome.sent
    assert outcome.text == "Status Working. No text sent: the Working text is off."
    make_rule(kind="status", timing="on_status", status_trigger="en_route")
    opted = make_appointment(client=make_client(opted_out=True))
    outcome = change_status(opted, "en_route", now=NOW)
    assert not outcome.sent and "Opted out" in outcome.text
    assert db.session.get(type(opted), opted.id).status == "en_route"


def test_an_import_that_moves_a_visit_cancels_its_queued_reminder(app, client_for, make_rule,
                                                                  make_client):
    from core.appointments.models import Appointment
    from tests.imports.test_ical import _calendar, _event, _import

    rule = make_rule(timing="hours_before", amount=3)
    client = client_for(Role.EDIT)
    make_client(mobile="+12025550100")
    lines = ("SUMMARY:Check-up", "X-TIDINGS-MOBILE:+1 202 555 0100")
    _import(client, _calendar(_event("visit-1@clinic", "20300304T150000Z", *lines)))
    visit = db.session.scalar(select(Appointment))
    _planned_and_fanned(rule, visit.start_at - timedelta(hours=1))
    _import(client, _calendar(_event("visit-1@clinic", "20300305T150000Z", *lines)))
    assert [(m.status, m.reason) for m in _messages(visit)] == [("cancelled", "Rescheduled")]
    assert db.session.scalar(select(AutomationSend.status)) == "cancelled"
