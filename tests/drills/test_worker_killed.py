"""Drill: kill -9 a worker in the middle of a 5,000-message batch, restart it, let the sweeper
run every 30 s as `rq cron` does: the killed job's messages and a scheduled job resume within a
minute of the new worker starting (RESUME_BOUND is a generous bound, the figure is printed);
every message ends final, none lost, none sent twice (counted at the fake Vonage, per message
id = the client reference the real SDK sends)."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from core.jobs import queue
from core.messaging import sweeper, tasks
from core.messaging.delivery import sender_count
from core.messaging.models import Message
from core.messaging.transitions import running_lease
from core.types import utcnow
from tests.drills.conftest import (
    kill_worker,
    outcome,
    report,
    settle_from_receipts,
    size,
    start_worker,
    statuses,
    stop_worker,
    wait_until,
)
from tests.messaging.delivery_support import bulk_appointments, make_broadcast

pytestmark = pytest.mark.drill

SWEEP_EVERY = 30  # seconds, as scheduler.py registers the sweeper with rq cron
RESUME_BOUND = 90  # seconds after the new worker starts; the target is 60


def held_by_the_killed_job(killed_at) -> set[int]:
    """Queued messages held by a running job's short lease (not a queued job's long hold)."""
    db.session.commit()
    return set(db.session.scalars(select(Message.id).where(
        Message.status == "queued",
        Message.held_until <= killed_at + running_lease() + timedelta(seconds=5))))


def still_queued(ids: set[int]) -> set[int]:
    db.session.commit()
    return set(db.session.scalars(select(Message.id).where(
        Message.id.in_(list(ids)), Message.status == "queued")))


def recover(ids: set[int], scheduled, started: float) -> tuple[float, float]:
    """Sweep every SWEEP_EVERY seconds until the killed job's messages are all taken again and
    the scheduled job ran; seconds after `started` for each."""
    resumed = ran = None
    next_sweep = started
    while resumed is None or ran is None:
        elapsed = time.monotonic() - started
        assert elapsed < 300, f"no recovery after 300 s: {len(still_queued(ids))} still held"
        if time.monotonic() >= next_sweep:
            sweeper.sweep()
            next_sweep += SWEEP_EVERY
        if resumed is None and not still_queued(ids):
            resumed = elapsed
        if ran is None and scheduled.get_status(refresh=True) == "finished":
            ran = elapsed
        time.sleep(0.5)
    return resumed, ran


def test_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(app, auto_vonage,
                                                                      tmp_path, capsys):
    app.config.update(PROVIDER_RATE_PER_SECOND=0)
    server = auto_vonage()
    total = size(5000)
    broadcast = make_broadcast(bulk_appointments(total))
    tasks.fan_out(broadcast.id)  # the messages exist; their delivery jobs wait in Redis

    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=0)
    try:
        # A quarter sent, and a job running (holding its messages by its short lease): killed
        # between two jobs, there would be no batch to lose.
        wait_until(lambda: sum(server.accepted.values()) >= total // 4
                   and bool(held_by_the_killed_job(utcnow())), timeout=180, interval=0.02)
    finally:
        killed = kill_worker(worker)  # mid-batch: a job half done, a message perhaps in flight
    killed_at = utcnow()
    at_kill = sum(server.accepted.values())
    in_flight = statuses(broadcast.id)["sending"]
    held = held_by_the_killed_job(killed_at)

    # A new worker at once; the sweeper runs every 30 s in real time. The killed job's short
    # lease runs out and the sweeper hands its messages out again; the new worker's scheduler
    # takes over the dead scheduler's lock and runs a job scheduled for 2 s from now.
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=0)
    started = time.monotonic()
    scheduled = queue("high").enqueue_in(timedelta(seconds=2), tasks.sweep)
    try:
        resumed, scheduled_ran = recover(held, scheduled, started)
        # Then 15 minutes on (past the sending lease): the message caught mid-send waits for
        # its receipt, anything still queued is re-armed.
        swept = sweeper.sweep(utcnow() + timedelta(minutes=15))
        wait_until(lambda: not (statuses(broadcast.id)["queued"]
                                + statuses(broadcast.id)["sending"]), timeout=300, interval=0.5)
    finally:
        stop_worker(worker)
        log.close()
    receipts = settle_from_receipts(app, server)  # its receipt settles the one in doubt
    sweeper.sweep(utcnow() + timedelta(hours=25))  # no receipt within 24 h: failed, visibly

    figures = outcome(server, [broadcast.id])
    with capsys.disabled():
        report("worker killed -9 mid-batch", processes_killed=killed, at_kill=at_kill,
               in_flight_at_kill=in_flight, held_by_killed_job=len(held),
               resumed_after_s=round(resumed, 1), scheduled_ran_after_s=round(scheduled_ran, 1),
               requeued_by_sweeper=swept["requeued"],
               reconciled_by_receipt=receipts, **figures)
    assert killed >= 2  # the worker and its work horse
    assert total // 4 <= at_kill < total  # really killed in the middle
    assert held  # the killed job held messages: they and the scheduled job came back quickly
    assert resumed < RESUME_BOUND and scheduled_ran < RESUME_BOUND
    assert figures["messages"] == total
    assert figures["queued"] == figures["reconcile"] == 0  # every message final
    assert figures["duplicates"] == 0 and figures["lost"] == 0
    assert figures["sent"] + figures["delivered"] + figures["failed"] == total
    # Only messages claimed but never handed to the provider fail: at most one per sender.
    assert figures["failed"] <= in_flight <= sender_count(10**6)
