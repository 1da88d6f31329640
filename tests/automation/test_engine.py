"""The rule engine with an injected clock: the right local moment in several zones and across
DST changes; exactly once however often or concurrently it runs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.appointments.models import Appointment
from core.automation.engine import plan_rule, run_due
from core.automation.models import AutomationSend
from core.extensions import db
from core.messaging.models import Broadcast, Message


def _keyed(rule) -> set[int]:
    return set(db.session.scalars(select(AutomationSend.appointment_id)
                                  .where(AutomationSend.rule_id == rule.id)))


# (zone, a day on which the clocks change there)
DST_DAYS = [
    ("America/New_York", datetime(2026, 3, 8)),   # spring forward 02:00 → 03:00
    ("America/New_York", datetime(2026, 11, 1)),  # fall back
    ("Europe/London", datetime(2026, 3, 29)),
    ("Europe/London", datetime(2026, 10, 25)),
    ("Australia/Sydney", datetime(2026, 4, 5)),   # autumn there: 03:00 → 02:00
    ("Australia/Sydney", datetime(2026, 10, 4)),
]


@pytest.mark.parametrize(("zone_name", "day"), DST_DAYS,
                         ids=[f"{z}-{d:%m-%d}" for z, d in DST_DAYS])
def test_day_based_rule_fires_at_the_local_daily_time(app, make_rule, make_appointment,
                                                      zone_name, day):
    app.config["BUSINESS_TIMEZONE"] = zone_name
    zone = ZoneInfo(zone_name)
    rule = make_rule(timing="days_before", amount=2, send_time="09:00")
    target = make_appointment(start_at=day.replace(tzinfo=zone) + timedelta(days=2, hours=8))
    late_evening = make_appointment(
        start_at=day.replace(tzinfo=zone) + timedelta(days=2, hours=23, minutes=30))
    make_appointment(start_at=day.replace(tzinfo=zone) + timedelta(days=3, hours=0, minutes=30))
    make_appointment(start_at=day.replace(tzinfo=zone) + timedelta(days=1, hours=10))
    nine = datetime(day.year, day.month, day.day, 9, 0, tzinfo=zone)

    assert plan_rule(rule, nine - timedelta(minutes=1)) == (None, 0)
    broadcast_id, count = plan_rule(rule, nine)
    assert count == 2
    assert _keyed(rule) == {target.id, late_evening.id}
    broadcast = db.session.get(Broadcast, broadcast_id)
    assert broadcast.options["automation"]["rule_id"] == rule.id
    assert broadcast.recipients == {"appointment_ids": sorted([target.id, late_evening.id])}


def test_hour_based_rule_fires_when_due_and_not_after_the_start(app, make_rule,
                                                                 make_appointment):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    rule = make_rule(timing="hours_before", amount=2)
    due = make_appointment(start_at=now + timedelta(hours=2))
    later = make_appointment(start_at=now + timedelta(hours=2, minutes=1))
    make_appointment(start_at=now - timedelta(minutes=5))  # started already
    assert plan_rule(rule, now)[1] == 1
    assert _keyed(rule) == {due.id}
    assert plan_rule(rule, now + timedelta(minutes=1))[1] == 1
    assert _keyed(rule) == {due.id, later.id}


def test_follow_up_goes_hours_after_the_end_of_completed_appointments(app, make_rule,
                                                                      make_appointment):
    now = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    rule = make_rule(kind="follow_up", timing="hours_after", amount=3, after="completed")
    ended = now - timedelta(hours=3)
    done = make_appointment(start_at=ended - timedelta(hours=1), end_at=ended,
                            status="completed")
    make_appointment(start_at=ended - timedelta(hours=1), end_at=ended)  # not completed
    make_appointment(start_at=now - timedelta(hours=3), end_at=now - timedelta(hours=2),
                     status="completed")  # not yet 3 h
    make_appointment(start_at=now - timedelta(days=5), end_at=now - timedelta(days=5),
                     status="completed")  # too old to send late
    assert plan_rule(rule, now)[1] == 1
    assert _keyed(rule) == {done.id}


def test_filters_and_cancelled_appointments(app, make_rule, make_appointment):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    rule = make_rule(timing="hours_before", amount=4, staff="dr. lee", title_contains="clean")
    start = now + timedelta(hours=1)
    match = make_appointment(start_at=start, staff="Dr. Lee", title="Dental cleaning")
    make_appointment(start_at=start, staff="Dr. Patel", title="Dental cleaning")
    make_appointment(start_at=start, staff="Dr. Lee", title="Check-up")
    make_appointment(start_at=start, staff="Dr. Lee", title="Cleaning", status="cancelled")
    plan_rule(rule, now)
    assert _keyed(rule) == {match.id}


def test_run_now_twice_and_the_daily_run_plan_once(app, make_rule, make_appointment,
                                                   run_worker):
    zone = ZoneInfo("America/New_York")
    rule = make_rule(timing="days_before", amount=1, send_time="09:00")
    start = datetime(2026, 6, 2, 10, 0, tzinfo=zone)
    appointment = make_appointment(start_at=start)
    early = datetime(2026, 6, 1, 7, 0, tzinfo=zone)
    assert plan_rule(rule, early, run_now=True)[1] == 1
    assert plan_rule(rule, early, run_now=True) == (None, 0)
    assert run_due(datetime(2026, 6, 1, 9, 0, tzinfo=zone)) == {}
    run_worker()
    messages = db.session.scalars(select(Message).where(
        Message.appointment_id == appointment.id)).all()
    assert [m.status for m in messages] == ["sent"]


def test_a_second_planner_with_its_own_session_finds_the_key(app, make_rule, make_appointment):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    rule = make_rule(timing="hours_before", amount=2)
    make_appointment(start_at=now + timedelta(hours=1))
    with app.app_context():  # another "scheduler": its own session and connection
        other_rule = db.session.get(type(rule), rule.id)
        assert plan_rule(other_rule, now)[1] == 1
    assert plan_rule(rule, now) == (None, 0)
    assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_confirmation_rule_marks_appointments_awaiting(app, make_rule, make_template,
                                                      make_appointment):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    template = make_template(kind="confirmation", body="Confirm? {{ reply_hint }}")
    rule = make_rule(kind="confirmation", template=template, timing="hours_before", amount=5)
    appointment = make_appointment(start_at=now + timedelta(hours=3))
    plan_rule(rule, now)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).confirmation_status == "awaiting"


def test_disabled_and_status_rules_are_not_run_by_the_daily_job(app, make_rule,
                                                                make_appointment):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    off = make_rule(timing="hours_before", amount=2, enabled=False)
    make_rule(kind="status", timing="on_status", status_trigger="en_route")
    on = make_rule(timing="hours_before", amount=2)
    make_appointment(start_at=now + timedelta(hours=1))
    assert run_due(now) == {on.id: 1}
    assert _keyed(off) == set()


def test_a_confirmation_run_over_many_appointments_marks_them_all(app, make_rule,
                                                                  make_template):
    from tests.messaging.delivery_support import bulk_appointments

    template = make_template(kind="confirmation", body="Confirm? {{ reply_hint }}")
    rule = make_rule(kind="confirmation", template=template, timing="hours_before", amount=48)
    ids = bulk_appointments(40_000)  # more than SQLite's 32,766 values in one statement
    assert plan_rule(rule)[1] == len(ids)
    awaiting = db.session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.confirmation_status == "awaiting"))
    assert awaiting == len(ids)
