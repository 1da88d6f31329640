"""The sweeper re-arms what Redis lost and settles what dead workers left; idempotent."""

import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from core.audit.models import AuditEvent
from core.extensions import db
from core.jobs import queue, redis
from core.messaging import pipeline, sweeper, tasks
from core.messaging.models import Broadcast, Message
from core.messaging.receipts import NO_RECEIPT
from core.simulator.models import SimMessage
from tests.messaging.delivery_support import (
    bulk_appointments,
    events_of,
    make_broadcast,
    message_ids,
    now,
    statuses,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]


def _after_lease(app, extra=timedelta(seconds=1)):
    return now() + timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"]) + extra


def test_a_redis_flush_loses_nothing_and_sends_nothing_twice(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(50))
    tasks.fan_out(broadcast.id)
    redis().flushdb()  # every delivery job is gone

    held = sweeper.sweep()  # the messages are still held by their (lost) job: wait
    rearmed = sweeper.sweep(_after_lease(app))
    again = sweeper.sweep(_after_lease(app))
    run_worker()

    assert held["requeued"] == 0 and rearmed["requeued"] == 50 and again["requeued"] == 0
    assert statuses(broadcast.id).get("queued", 0) == 0
    per_ref = Counter(db.session.scalars(select(SimMessage.client_ref)))
    assert len(per_ref) == 50 and set(per_ref.values()) == {1}


def test_a_live_job_keeps_its_messages_from_the_sweeper(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(5))
    tasks.fan_out(broadcast.id)

    assert sweeper.sweep()["requeued"] == 0
    assert len(queue("default").jobs) == 1  # the fan-out's job, not a second one


def test_a_message_stuck_sending_goes_to_reconcile_after_the_lease(app, fast):
    broadcast = make_broadcast(bulk_appointments(1))
    tasks.fan_out(broadcast.id)
    (message_id,) = message_ids(broadcast.id)
    db.session.execute(update(Message).values(status="sending", claimed_at=now()))
    db.session.commit()

    early = sweeper.sweep(now() + timedelta(minutes=1))["reconcile"]
    late = sweeper.sweep(now() + timedelta(minutes=6))["reconcile"]

    assert (early, late) == (0, 1)
    assert db.session.get(Message, message_id).status == "reconcile"
    assert events_of(message_id)[-1][0] == "reconcile"


def test_reconciliation_without_a_receipt_ends_failed(app, fast):
    broadcast = make_broadcast(bulk_appointments(1))
    tasks.fan_out(broadcast.id)
    (message_id,) = message_ids(broadcast.id)
    db.session.execute(update(Message).values(status="reconcile", claimed_at=now()))
    db.session.commit()

    assert sweeper.sweep(now() + timedelta(hours=23))["no_receipt"] == 0
    assert sweeper.sweep(now() + timedelta(hours=25))["no_receipt"] == 1

    message = db.session.get(Message, message_id)
    assert message.status == "failed" and message.reason == NO_RECEIPT
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.failed"))
    assert [a.message_id for a in audit] == [message_id]


def test_a_scheduled_broadcast_whose_trigger_was_lost_still_goes(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(3), send_at=now() + timedelta(hours=1))
    pipeline.start_broadcast(broadcast.id)
    redis().flushdb()  # the scheduled trigger is gone
    future = make_broadcast(bulk_appointments(1), send_at=now() + timedelta(days=1))
    db.session.execute(update(Broadcast).where(Broadcast.id == broadcast.id).values(
        send_at=now() - timedelta(minutes=5), created_at=now() - timedelta(hours=1)))
    db.session.commit()

    report = sweeper.sweep()
    run_worker()

    assert report["fan_outs"] == 1
    assert statuses(broadcast.id) in ({"sent": 3}, {"delivered": 3})
    assert db.session.get(Broadcast, future.id).status == "scheduled"


def test_queued_messages_of_a_cancelled_broadcast_are_cancelled(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(4))
    tasks.fan_out(broadcast.id)
    db.session.execute(update(Broadcast).values(status="cancelled"))  # e.g. a raced cancel
    db.session.commit()

    run_worker()  # the claim already refuses to send them
    unsent = statuses(broadcast.id)
    report = sweeper.sweep()

    assert unsent == {"queued": 4}
    assert report["cancelled"] == 4 and statuses(broadcast.id) == {"cancelled": 4}
    assert db.session.scalars(select(SimMessage)).all() == []


def test_only_one_sweep_runs_at_a_time(app):
    lock = redis().lock(sweeper.LOCK, timeout=10)
    lock.acquire()
    try:
        assert sweeper.sweep() == {}
    finally:
        lock.release()
    assert sweeper.sweep()["requeued"] == 0


def test_rq_cron_runs_the_sweeper_from_scheduler_py(app, run_worker):
    rq = shutil.which("rq", path=str(Path(sys.executable).parent))
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    cron = subprocess.Popen([rq, "cron", "scheduler.py", "--url", app.config["REDIS_URL"]],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        jobs = wait_for(lambda: queue("high").jobs, timeout=30, interval=0.3)
    finally:
        cron.terminate()
        cron.wait(10)

    assert jobs[0].func_name == "core.messaging.tasks.sweep"
    run_worker(queues=("high",))
    assert jobs[0].get_status(refresh=True) == "finished"
    assert isinstance(jobs[0].return_value(), dict)
