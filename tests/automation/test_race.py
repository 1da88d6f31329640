"""A reschedule or cancellation that lands between a rule run's commit and its fan-out (when
no message exists yet to cancel) still stops the stale reminder: the fan-out vets each chunk
against the run's keys (core.messaging.signals.messages_vetting)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.appointments import operations as ops
from core.automation.engine import plan_rule
from core.extensions import db
from core.messaging import fanout
from core.messaging.fanout import fan_out
from core.messaging.models import Message

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _messages(appointment) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(m.status, m.reason) for m in db.session.scalars(
        select(Message).where(Message.appointment_id == appointment.id).order_by(Message.id))]


def _move(appointment, start: datetime) -> None:
    values = {k: getattr(appointment, k) for k in
              ("client_id", "title", "staff", "location", "status")}
    ops.update_appointment(appointment, ops.AppointmentData(
        **values, start_at=start, end_at=start + timedelta(hours=1),
        job_number=appointment.job_number or ""))
    db.session.commit()


def test_a_reschedule_after_the_run_commits_and_before_its_fan_out_skips_the_reminder(
        app, make_rule, make_appointment):
    rule = make_rule(timing="hours_before", amount=3)
    moved = make_appointment(start_at=NOW + timedelta(hours=2))
    kept = make_appointment(start_at=NOW + timedelta(hours=2))
    broadcast_id, count = plan_rule(rule, NOW)  # committed; its fan-out job has not run
    assert count == 2
    _move(moved, NOW + timedelta(days=3))
    assert _messages(moved) == [], "nothing existed yet for the reschedule to cancel"
    fan_out(broadcast_id)
    assert _messages(moved) == [("skipped", "Rescheduled")]
    assert _messages(kept) == [("queued", "")]
    # The new time is planned afresh when it falls due.
    assert plan_rule(rule, NOW + timedelta(days=3) - timedelta(hours=2))[1] == 1


def test_a_cancellation_before_the_fan_out_skips_the_reminder(app, make_rule, make_appointment):
    rule = make_rule(timing="hours_before", amount=3)
    visit = make_appointment(start_at=NOW + timedelta(hours=2))
    broadcast_id, _ = plan_rule(rule, NOW)
    ops.set_status(visit, "cancelled")
    db.session.commit()
    fan_out(broadcast_id)
    assert _messages(visit) == [("skipped", "Appointment cancelled")]


def test_a_reschedule_while_the_fan_out_plans_the_chunk_skips_the_reminder(
        app, make_rule, make_appointment, monkeypatch):
    rule = make_rule(timing="hours_before", amount=3)
    visit = make_appointment(start_at=NOW + timedelta(hours=2))
    broadcast_id, _ = plan_rule(rule, NOW)
    real_plan = fanout.plan

    def plan_then_reschedule(broadcast):
        yield from real_plan(broadcast)  # the chunk is planned (the old time merged in) ...
        _move(visit, NOW + timedelta(days=3))  # ... and moved before it is written

    monkeypatch.setattr(fanout, "plan", plan_then_reschedule)
    fan_out(broadcast_id)
    assert _messages(visit) == [("skipped", "Rescheduled")]


def test_a_manual_confirmation_is_not_vetted_against_rule_keys(app, make_template,
                                                              make_appointment):
    from core.automation.confirm import send_confirmation

    template = make_template(kind="confirmation", body="Reply YES or NO.")
    visit = make_appointment(start_at=datetime.now(UTC) + timedelta(days=2))
    broadcast = send_confirmation([visit.id], channel="sms", subject="", body=template.body)
    fan_out(broadcast.id)
    assert _messages(visit) == [("queued", "")]
