"""Drill: kill -9 a worker in the middle of a 5,000-message batch, restart it, let the sweeper
run: every message ends final, none lost, none sent twice (counted at the fake Vonage, per
message id = the client reference the real SDK sends)."""

from datetime import timedelta

import pytest

from core.messaging import sweeper, tasks
from core.messaging.delivery import sender_count
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
        wait_until(lambda: sum(server.accepted.values()) >= total // 4, timeout=180)
    finally:
        killed = kill_worker(worker)  # mid-batch: a job half done, a message perhaps in flight
    at_kill = sum(server.accepted.values())
    in_flight = statuses(broadcast.id)["sending"]

    # The sweeper 15 minutes on (past the holds and the sending lease): the message caught
    # mid-send waits for its receipt, everything still queued is re-armed.
    swept = sweeper.sweep(utcnow() + timedelta(minutes=15))
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=0)
    try:
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
               in_flight_at_kill=in_flight, requeued_by_sweeper=swept["requeued"],
               reconciled_by_receipt=receipts, **figures)
    assert killed >= 2  # the worker and its work horse
    assert total // 4 <= at_kill < total  # really killed in the middle
    assert figures["messages"] == total
    assert figures["queued"] == figures["reconcile"] == 0  # every message final
    assert figures["duplicates"] == 0 and figures["lost"] == 0
    assert figures["sent"] + figures["delivered"] + figures["failed"] == total
    # Only messages claimed but never handed to the provider fail: at most one per sender.
    assert figures["failed"] <= in_flight <= sender_count(10**6)
