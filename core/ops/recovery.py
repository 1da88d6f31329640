"""Taking over what a worker killed with kill -9 left behind in Redis: its started jobs and
RQ's scheduler locks.

A worker running a job beats every 10 s (worker.py); a job in RQ's StartedJobRegistry whose
worker is gone or silent for DEAD_AFTER seconds was abandoned, and the sweeper takes its
work back at once instead of waiting for the job's hold or claim to run out.

RQ's scheduler renews its lock (TTL interval + 60 s) every interval; a worker that starts
while a dead scheduler's lock is still alive would wait for it to expire and then for its
next maintenance run. A lock that has not been renewed for STALE seconds belongs to a dead
scheduler and is released at once, so the new worker's scheduler takes it.
"""

import logging
from datetime import UTC, datetime

from redis import Redis
from rq import Worker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

log = logging.getLogger(__name__)

DEAD_AFTER = 40  # seconds without a heartbeat after which a busy worker is dead
HANDLED = "tidings:abandoned:{}"  # a dead worker's job is taken back once
STALE = 15  # seconds without a renewal after which a scheduler lock's owner is dead
SCHEDULER_INTERVAL = 1  # RQ's default: the lock lives interval + 60 s from each renewal
LOCK_TTL = SCHEDULER_INTERVAL + 60


def release_dead_scheduler_locks(connection: Redis, queue_names) -> list[str]:
    """Release the scheduler locks of `queue_names` whose owner stopped renewing them."""
    released = []
    for name in queue_names:
        key = RQScheduler.get_locking_key(name)
        owner, ttl = connection.get(key), connection.ttl(key)
        if owner is None or ttl < 0 or ttl > LOCK_TTL - STALE:
            continue
        if release_lock(connection, key, owner.decode() if isinstance(owner, bytes) else owner):
            released.append(name)
    if released:
        log.warning("released the scheduler locks of a dead scheduler: %s", ", ".join(released))
    return released


def scheduler_lock_owners(connection: Redis, queue_names) -> dict[str, str | None]:
    """Who holds each queue's scheduler lock (None: nobody), for the System page."""
    owners = {}
    for name in queue_names:
        owner = connection.get(RQScheduler.get_locking_key(name))
        owners[name] = owner.decode() if isinstance(owner, bytes) else owner
    return owners



def _dead(connection: Redis, worker_name: str | None, now: datetime) -> bool:
    """Whether the worker is gone from Redis or has not beaten for DEAD_AFTER seconds."""
    if not worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + worker_name,
                                connection=connection)
    if worker is None or worker.last_heartbeat is None:
        return True
    return (now - worker.last_heartbeat).total_seconds() > DEAD_AFTER


def abandoned_jobs(connection: Redis, queues) -> list[Job]:
    """Started jobs whose worker died, each returned once (later sweeps skip it)."""
    now, found = datetime.now(UTC), []
    for q in queues:
        ids = StartedJobRegistry(queue=q).get_job_ids(cleanup=False)
        for job in Job.fetch_many(ids, connection=connection):
            if (job is not None and job.get_status(refresh=False) == JobStatus.STARTED
                    and _dead(connection, job.worker_name, now)
                    and connection.set(HANDLED.format(job.id), 1, nx=True, ex=3600)):
                found.append(job)
    if found:
        log.warning("taking back %d job(s) of dead workers: %s", len(found),
                    ", ".join(job.id for job in found))
    return found
