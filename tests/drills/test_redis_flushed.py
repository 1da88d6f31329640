"""Drill: Redis loses everything (FLUSHALL) with 1,000 messages queued and 100 scheduled, while a
worker is sending: the sweeper re-arms them from the database and all go out, once, on time
within the bound the pipeline promises (lease or trigger grace, plus one sweep interval)."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from core.jobs import redis
from core.messaging import pipeline, sweeper, tasks
from core.messaging.models import Broadcast, Message
from core.messaging.sweeper import TRIGGER_GRACE
from core.types import utcnow
from tests.drills.conftest import (
    outcome,
    report,
    size,
    start_worker,
    statuses,
    stop_worker,
    wait_until,
)
from tests.messaging.delivery_support import bulk_appointments, make_broadcast

pytestmark = pytest.mark.drill
LEASE = 5  # seconds a lost job's messages stay held (DELIVERY_LEASE_SECONDS; 600 by default)
SWEEP_EVERY = 3  # seconds between sweeps here (scheduler.py: every 30 s)
RATE = 100  # messages per second, so the flush lands mid-delivery


def test_redis_flushall_with_queued_and_scheduled_loses_nothing(app, auto_vonage, tmp_path,
                                                                capsys):
    app.config.update(PROVIDER_RATE_PER_SECOND=RATE, DELIVERY_LEASE_SECONDS=LEASE)
    server = auto_vonage()
    queued_n, scheduled_n = size(1000), max(1, size(1000) // 10)
    now_broadcast = make_broadcast(bulk_appointments(queued_n))
    tasks.fan_out(now_broadcast.id)
    later = make_broadcast(bulk_appointments(scheduled_n), send_at=utcnow() + timedelta(seconds=8))
    pipeline.start_broadcast(later.id)  # its trigger waits in RQ's scheduled registry
    due_at = later.send_at

    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=RATE,
                          DELIVERY_LEASE_SECONDS=LEASE)
    try:
        wait_until(lambda: sum(server.accepted.values()) >= queued_n // 10, timeout=60)
        redis().flushall()  # queues, scheduled trigger, started jobs, rate-limit keys: gone
        flushed_at, sent_at_flush = utcnow(), sum(server.accepted.values())
        last = [0.0]

        def cron():
            if time.monotonic() - last[0] >= SWEEP_EVERY:
                sweeper.sweep()
                last[0] = time.monotonic()

        ids = [now_broadcast.id, later.id]
        wait_until(lambda: sum(statuses(b)["sent"] for b in ids) == queued_n + scheduled_n,
                   timeout=180, interval=0.5, every=cron)
    finally:
        stop_worker(worker)
        log.close()

    db.session.expire_all()
    due = db.session.get(Broadcast, later.id).send_at

    def lateness(broadcast_id, since):
        times = db.session.scalars(select(Message.sent_at).where(
            Message.broadcast_id == broadcast_id)).all()
        return max((t.replace(tzinfo=since.tzinfo) - since).total_seconds() for t in times)

    figures = outcome(server, ids)
    late_queued = lateness(now_broadcast.id, flushed_at)
    late_scheduled = lateness(later.id, due)
    with capsys.disabled():
        report("Redis FLUSHALL, 1,000 queued + 100 scheduled", sent_before_flush=sent_at_flush,
               last_queued_sent_after_flush=f"{late_queued:.1f}s",
               last_scheduled_sent_after_due=f"{late_scheduled:.1f}s",
               lease=f"{LEASE}s", sweep_every=f"{SWEEP_EVERY}s", **figures)
    assert due == due_at.replace(tzinfo=due.tzinfo)
    assert figures["messages"] == queued_n + scheduled_n
    assert figures["duplicates"] == 0 and figures["lost"] == 0 and figures["failed"] == 0
    # Late by at most the hold (or the trigger grace), one sweep interval and the sending.
    sending = (queued_n + scheduled_n) / RATE
    assert late_queued <= LEASE + SWEEP_EVERY + sending + 5
    assert late_scheduled <= TRIGGER_GRACE.total_seconds() + SWEEP_EVERY + sending + 5
