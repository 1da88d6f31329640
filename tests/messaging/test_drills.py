"""Fault drills: a worker machine killed mid-batch, Redis flushed mid-delivery. Nothing is lost,
nothing is sent twice."""

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.jobs import redis
from core.messaging import sweeper, tasks
from core.messaging.models import Message
from core.simulator.models import SimMessage
from tests.messaging.delivery_support import (
    bulk_appointments,
    make_broadcast,
    now,
    statuses,
    wait_for,
)
from tests.processes import kill_worker

pytestmark = pytest.mark.drill
ROOT = Path(__file__).resolve().parents[2]


def _start_worker(app, rate: int) -> subprocess.Popen:
    """`python worker.py` against the test database and Redis, in its own process group."""
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": "drill",
           "PROVIDER_RATE_PER_SECOND": str(rate)}
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _sent(broadcast_id: int) -> int:
    counts = statuses(broadcast_id)
    return counts.get("sent", 0) + counts.get("delivered", 0)


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the worker, its work horse and its scheduler at once, like a machine dying."""
    kill_worker(proc)


def _phone_counts() -> Counter:
    db.session.commit()
    return Counter(db.session.scalars(select(SimMessage.client_ref)))


def app_senders() -> int:
    """Messages one delivery job may have in flight at once (one per sender)."""
    from core.messaging.delivery import sender_count

    return sender_count(10**6)


def _assert_each_sent_exactly_once(broadcast_id: int, total: int) -> None:
    """Every message reached its phone once, except those caught mid-send (to reconcile)."""
    counts = statuses(broadcast_id)
    on_phone = _phone_counts()
    assert counts.get("queued", 0) == counts.get("sending", 0) == 0, counts
    assert max(on_phone.values()) == 1  # no duplicates
    reconcile = set(db.session.scalars(
        select(Message.id).where(Message.status == "reconcile")))
    assert len(reconcile) <= app_senders()  # at most one in flight per sender at the kill
    sent = set(db.session.scalars(select(Message.id).where(
        Message.broadcast_id == broadcast_id, Message.status.in_(["sent", "delivered"]))))
    phone = {int(ref) for ref in on_phone}
    assert sent <= phone  # a message marked sent is on its phone
    assert phone - sent <= reconcile  # one on the phone but unrecorded waits for its receipt
    assert len(sent) + len(reconcile) == total  # and none is lost


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(1000))
    tasks.fan_out(broadcast.id)
    worker = _start_worker(app, rate=150)
    try:
        wait_for(lambda: _sent(broadcast.id) >= 150, timeout=90)
    finally:
        _kill(worker)
    at_kill = _sent(broadcast.id)

    report = sweeper.sweep(now() + timedelta(minutes=15))
    run_worker()

    assert 150 <= at_kill < 1000
    assert report["requeued"] > 0
    _assert_each_sent_exactly_once(broadcast.id, 1000)


def test_redis_flushed_mid_delivery_loses_nothing(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(300))
    tasks.fan_out(broadcast.id)
    worker = _start_worker(app, rate=100)
    try:
        wait_for(lambda: _sent(broadcast.id) >= 50, timeout=90)
        redis().flushdb()  # the queue, the jobs, the scheduled receipts: all gone
        wait_for(lambda: _sent(broadcast.id) >= 100 or _idle(broadcast.id), timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)  # a warm shutdown: the current job finishes
        worker.wait(60)

    sweeper.sweep(now() + timedelta(minutes=15))
    run_worker()

    assert db.session.scalar(select(func.count()).select_from(SimMessage)) == 300
    _assert_each_sent_exactly_once(broadcast.id, 300)


def _idle(broadcast_id: int) -> bool:
    """The live worker has nothing left it knows about (its job may have ended)."""
    return statuses(broadcast_id).get("sending", 0) == 0
