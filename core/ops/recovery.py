"""Taking over what a worker killed with kill -9 left behind in Redis: RQ's scheduler locks.

RQ's scheduler renews its lock (TTL interval + 60 s) every interval; a worker that starts
while a dead scheduler's lock is still alive would wait for it to expire and then for its
next maintenance run. A lock that has not been renewed for STALE seconds belongs to a dead
scheduler and is released at once, so the new worker's scheduler takes it.
"""

import logging

from redis import Redis
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

log = logging.getLogger(__name__)

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

