"""The periodic job through a real RQ worker; a run whose trigger Redis lost is restarted by
the sweeper and still sends once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.automation.engine import plan_rule, run_due
from core.extensions import db
from core.jobs import queue
from core.messaging import sweeper
from core.messaging.models import Message


def test_the_periodic_job_plans_and_sends_through_a_worker(app, make_rule, make_appointment,
                                                           run_worker):
    make_rule(timing="hours_before", amount=2)
    appointment = make_appointment(start_at=datetime.now(UTC) + timedelta(hours=1))
    queue("default").enqueue("core.automation.tasks.run_rules")
    queue("default").enqueue("core.automation.tasks.run_rules")  # an overlapping run
    run_worker()
    messages = db.session.scalars(select(Message).where(
        Message.appointment_id == appointment.id)).all()
    assert [m.status for m in messages] == ["sent"]


def test_scheduler_registers_the_rule_job():
    import importlib

    from rq import cron

    import scheduler

    importlib.reload(scheduler)  # registers its jobs with rq cron
    jobs = {entry["func"].__name__: entry for entry in cron._job_data_registry}
    assert jobs["run_rules"]["interval"] == 60 and jobs["run_rules"]["queue_name"] == "high"


def test_a_lost_trigger_is_restarted_by_the_sweeper_and_sends_once(app, make_rule,
                                                                   make_appointment,
                                                                   run_worker):
    now = datetime.now(UTC)
    rule = make_rule(timing="hours_before", amount=2)
    appointment = make_appointment(start_at=now + timedelta(hours=1))
    assert plan_rule(rule, now)[1] == 1
    app.extensions["redis"].flushdb()  # the broadcast is committed, its trigger is gone
    assert run_due(now + timedelta(minutes=1)) == {}  # the key holds: nothing new
    assert sweeper.sweep(now + timedelta(minutes=1))["fan_outs"] == 1
    run_worker()
    statuses = db.session.scalars(select(Message.status).where(
        Message.appointment_id == appointment.id)).all()
    assert statuses == ["sent"]
