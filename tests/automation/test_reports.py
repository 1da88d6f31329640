"""Two planners at the same moment plan once; the rule page's forecast and last 7 days."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.automation import reports
from core.automation.engine import plan_rule
from core.automation.models import AutomationRule, AutomationSend
from core.extensions import db
from core.messaging.models import Broadcast

ZONE = ZoneInfo("America/New_York")


def test_two_schedulers_at_once_plan_each_appointment_once(app, make_rule, make_appointment):
    now = datetime.now(UTC)
    rule = make_rule(timing="hours_before", amount=3)
    for _ in range(50):
        make_appointment(start_at=now + timedelta(hours=1))
    barrier, counts, errors = threading.Barrier(3), [], []

    def planner():
        with app.app_context():
            try:
                barrier.wait(10)
                counts.append(plan_rule(db.session.get(AutomationRule, rule.id), now)[1])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=planner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(counts) == [0, 0, 50]
    assert db.session.scalar(select(func.count()).select_from(AutomationSend)) == 50
    assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_forecast_counts_each_local_day(app, make_rule, make_appointment):
    now = datetime(2026, 6, 1, 8, 0, tzinfo=ZONE)
    rule = make_rule(timing="days_before", amount=2, send_time="09:00")
    for day, n in ((2, 3), (3, 1), (8, 2), (9, 5)):  # local days from "today"
        for i in range(n):
            make_appointment(start_at=now + timedelta(days=day, hours=2 + i))
    make_appointment(start_at=now + timedelta(days=2, hours=1), status="cancelled")
    days = reports.forecast(rule, now)
    assert [d.forecast for d in days] == [3, 1, 0, 0, 0, 0, 2]
    assert days[0].day.isoformat() == "2026-06-01"


def test_history_counts_what_the_rule_sent_and_skipped(app, make_rule, make_client,
                                                       make_appointment, run_worker):
    now = datetime.now(UTC)
    rule = make_rule(timing="hours_before", amount=3)
    make_appointment(start_at=now + timedelta(hours=1))
    make_appointment(start_at=now + timedelta(hours=1), client=make_client(opted_out=True))
    plan_rule(rule, now)
    run_worker()
    today = reports.history(rule, now)[-1]
    assert (today.sent, today.skipped, today.failed, today.other) == (1, 1, 0, 0)


def test_hour_based_forecast_counts_today_what_is_due_and_unsent(app, make_rule,
                                                                 make_appointment):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=ZONE)
    rule = make_rule(timing="hours_before", amount=3)
    make_appointment(start_at=now + timedelta(hours=1))  # due now, not sent yet
    sent = make_appointment(start_at=now + timedelta(hours=2))
    make_appointment(start_at=now + timedelta(hours=14))  # 02:00 tomorrow: due at 23:00 today
    make_appointment(start_at=now + timedelta(days=1, hours=1))  # due tomorrow
    plan_rule(rule, now, only=[sent.id])
    assert [d.forecast for d in reports.forecast(rule, now)][:3] == [2, 1, 0]


def test_a_large_dry_run_counts_in_sql_and_shows_the_first_rows(app, make_rule):
    from tests.messaging.delivery_support import bulk_appointments

    rule = make_rule(timing="hours_before", amount=48)
    ids = bulk_appointments(1500)
    plan_rule(rule, only=ids[:100])
    run = reports.dry_run(rule)
    assert (run.sends, run.skipped, run.total, run.estimated) == (1400, 100, 1500, True)
    assert [r.outcome for r in run.rows].count("Sends now") == reports.DRY_RUN_ROWS
    assert run.rows[-1].outcome == "Skipped: sent already by this rule"
