"""Liveness and readiness: is the database answering, Redis answering, a worker alive, the
sweeper running? Each check is small and says what is wrong in words an operator can act on."""

import time
from dataclasses import dataclass

from rq import Worker
from sqlalchemy import func, select, text

from core.extensions import db
from core.jobs import redis
from core.types import utcnow

SWEEPER_KEY = "tidings:sweeper:last_run"
WORKER_SEEN = 60  # seconds: a worker heartbeats at least every 30 s (worker.py)
SWEEPER_SEEN = 120  # seconds: the sweeper runs every 30 s (scheduler.py)


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed, and what it found."""

    name: str
    ok: bool
    detail: str


def note_sweep() -> None:
    """Record that the sweeper just ran (read by /readyz and /metrics)."""
    redis().set(SWEEPER_KEY, time.time())


def sweeper_age() -> float | None:
    """Seconds since the sweeper last ran; None when it never did (since Redis started)."""
    value = redis().get(SWEEPER_KEY)
    return None if value is None else max(0.0, time.time() - float(value))


def live_workers() -> list[Worker]:
    """RQ workers that sent a heartbeat in the last WORKER_SEEN seconds."""
    now = utcnow()
    return [w for w in Worker.all(connection=redis())
            if w.last_heartbeat and (now - w.last_heartbeat).total_seconds() <= WORKER_SEEN]


def inbound_backlog() -> tuple[int, float]:
    """Inbound messages waiting for the drain, and the age of the oldest in seconds."""
    from core.conversations.models import PendingInbound

    count, oldest = db.session.execute(
        select(func.count(), func.min(PendingInbound.queued_at))).one()
    db.session.commit()
    return count, (utcnow() - oldest).total_seconds() if oldest else 0.0


def _database() -> Check:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - the check reports, never raises
        db.session.rollback()
        return Check("database", False, f"unreachable: {type(exc).__name__}")
    return Check("database", True, "answering")


def _redis() -> Check:
    try:
        redis().ping()
    except Exception as exc:  # noqa: BLE001
        return Check("redis", False, f"unreachable: {type(exc).__name__}")
    return Check("redis", True, "answering")


def _workers() -> Check:
    count = len(live_workers())
    if not count:
        return Check("workers", False, f"no worker seen in the last {WORKER_SEEN} s")
    return Check("workers", True, f"{count} seen in the last {WORKER_SEEN} s")


def _sweeper() -> Check:
    age = sweeper_age()
    if age is None:
        return Check("sweeper", False, "has not run yet (is `rq cron scheduler.py` running?)")
    if age > SWEEPER_SEEN:
        return Check("sweeper", False, f"last ran {age:.0f} s ago")
    return Check("sweeper", True, f"ran {age:.0f} s ago")


def readiness() -> list[Check]:
    """Every readiness check; Redis-based ones are skipped (failed) when Redis is down."""
    checks = [_database(), _redis()]
    if checks[1].ok:
        checks += [_workers(), _sweeper()]
    else:
        checks += [Check("workers", False, "unknown: Redis is down"),
                   Check("sweeper", False, "unknown: Redis is down")]
    return checks
