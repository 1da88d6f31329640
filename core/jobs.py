"""Access to Redis and the RQ queues; Redis is only the trigger, the database the truth."""

from flask import current_app
from redis import Redis
from rq import Queue

QUEUES = ("high", "default", "low")
JOB_TIMEOUT = 600


def redis() -> Redis:
    """The app's Redis connection."""
    return current_app.extensions["redis"]


def queue(name: str = "default") -> Queue:
    """One of the named RQ queues (high, default, low)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis(), default_timeout=JOB_TIMEOUT)
