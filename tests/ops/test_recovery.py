"""Crash recovery: the sweeper takes back the work of a job whose worker died (through RQ's
registries), and a dead scheduler's lock is released for the next worker's scheduler."""

import pytest
from rq.scheduler import RQScheduler
from sqlalchemy import select, update

from core.extensions import db
from core.jobs import queue, redis
from core.messaging import sweeper, tasks
from core.messaging.models import Broadcast, Message
from core.messaging.pipeline import DELIVER, FAN_OUT, claim_broadcast
from core.ops.recovery import LOCK_TTL, release_dead_scheduler_locks
from core.types import utcnow
from tests.messaging.delivery_support import bulk_appointments, make_broadcast, statuses
from worker import make_worker


@pytest.fixture
def fast(app):
    app.config.update(PROVIDER_RATE_PER_SECOND=0, SIMULATOR_RECEIPT_DELAY=0)
    return app


def begin(worker, job) -> None:
    """What a worker and its work horse write when a job starts."""
    worker.prepare_execution(job)
    with redis().pipeline() as pipe:
        job.prepare_for_execution(worker.name, pipe)
        pipe.execute()


def started_by_a_worker_that_dies(app, func: str, *args):
    """A job a worker took and began (in RQ's StartedJobRegistry), then the worker died."""
    ghost = make_worker(app, ["default"], name="ghost")
    ghost.register_birth()
    job = queue("default").enqueue(func, *args)
    queue("default").remove(job)
    begin(ghost, job)
    redis().delete(ghost.key)  # kill -9: no goodbye, its heartbeat key vanishes
    return job


def test_a_dead_workers_delivery_job_is_taken_back_at_once(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(5))
    tasks.fan_out(broadcast.id)
    queue("default").empty()  # its delivery job was dequeued by the worker that died
    ids = list(db.session.scalars(select(Message.id)))
    db.session.execute(update(Message).values(held_until=utcnow() + sweeper.lease()))
    db.session.commit()
    assert sweeper.sweep()["requeued"] == 0  # held: nothing to do while the job lives

    started_by_a_worker_that_dies(app, DELIVER, ids)
    done = sweeper.sweep()
    again = sweeper.sweep()
    run_worker()

    assert done["abandoned"] == 1 and done["requeued"] == 5
    assert again["abandoned"] == 0 and again["requeued"] == 0  # taken back once
    assert statuses(broadcast.id) in ({"sent": 5}, {"delivered": 5})


def test_a_dead_workers_fan_out_is_restarted_without_waiting(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(3))
    assert claim_broadcast(broadcast.id, utcnow(), sweeper.STALE_AFTER)  # it began...
    assert sweeper.sweep()["fan_outs"] == 0  # ...and a live fan-out is left alone

    started_by_a_worker_that_dies(app, FAN_OUT, broadcast.id)
    assert sweeper.sweep()["fan_outs"] == 1
    run_worker()

    db.session.expire_all()
    assert db.session.get(Broadcast, broadcast.id).status == "sent"
    assert sum(statuses(broadcast.id).values()) == 3


def test_a_live_workers_job_is_left_alone(app, fast):
    worker = make_worker(app, ["default"], name="alive")
    worker.register_birth()
    job = queue("default").enqueue(DELIVER, [1, 2])
    begin(worker, job)
    try:
        assert sweeper.sweep().get("abandoned", 0) == 0
    finally:
        worker.register_death()


def test_a_dead_schedulers_lock_is_released_and_a_live_one_kept(app):
    connection = redis()
    dead, live = (RQScheduler.get_locking_key(name) for name in ("default", "high"))
    connection.set(dead, "dead-scheduler", ex=LOCK_TTL - 20)  # not renewed for 20 s
    connection.set(live, "live-scheduler", ex=LOCK_TTL - 1)  # renewed a second ago

    assert release_dead_scheduler_locks(connection, ["default", "high"]) == ["default"]
    assert connection.get(dead) is None and connection.get(live) == b"live-scheduler"
