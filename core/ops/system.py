"""What the System page shows and does: RQ's queues, workers, failed and scheduled jobs, and
messages waiting in reconcile, which an admin may settle by hand (audited)."""

from dataclasses import dataclass
from datetime import datetime

from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import select, update

from core.extensions import db
from core.jobs import QUEUES, queue, redis
from core.messaging.models import Status
from core.messaging.transitions import MESSAGES, audit_row, label, write_audits, write_events
from core.ops.health import WORKER_SEEN
from core.types import utcnow

LIMIT = 50  # jobs or messages listed per section
SETTLE = {"sent": (Status.SENT, "Marked sent by hand"),
          "failed": (Status.FAILED, "Marked failed by hand")}


class SystemError(ValueError):  # noqa: A001 - read as system.SystemError
    """An action on a job or message that cannot be done (words for the page)."""


@dataclass(frozen=True)
class JobRow:
    """One RQ job as the page lists it."""

    id: str
    queue: str
    description: str
    at: datetime | None
    error: str = ""


def queue_stats() -> list[dict]:
    """Each queue with its jobs waiting, running, scheduled and failed."""
    rows = []
    for name in QUEUES:
        q = queue(name)
        rows.append({"name": name, "queued": q.count,
                     "started": StartedJobRegistry(queue=q).count,
                     "scheduled": ScheduledJobRegistry(queue=q).count,
                     "failed": FailedJobRegistry(queue=q).count})
    return rows


def workers() -> list[dict]:
    """Every registered worker: its state, current job and whether it was seen lately."""
    now, rows = utcnow(), []
    for worker in Worker.all(connection=redis()):
        job = worker.get_current_job()
        seen = (now - worker.last_heartbeat).total_seconds() if worker.last_heartbeat else None
        rows.append({"name": worker.name, "state": worker.get_state(),
                     "queues": ", ".join(worker.queue_names()),
                     "job": job.description if job else "", "job_id": job.id if job else "",
                     "seen": seen, "alive": seen is not None and seen <= WORKER_SEEN})
    return sorted(rows, key=lambda row: row["name"])


def _jobs(registry_class, when) -> list[JobRow]:
    rows = []
    for name in QUEUES:
        registry = registry_class(queue=queue(name))
        ids = registry.get_job_ids(0, LIMIT - 1)
        for job in Job.fetch_many(ids, connection=redis()):
            if job is not None:
                rows.append(JobRow(job.id, name, job.description or job.func_name,
                                   when(registry, job), _last_line(job)))
    return rows[:LIMIT]


def _last_line(job: Job) -> str:
    """The last line of a failed job's traceback (the exception), shortened."""
    result = job.latest_result()
    info = result.exc_string if result is not None else ""
    lines = [line for line in (info or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def failed_jobs() -> list[JobRow]:
    """Failed jobs of every queue, with the exception that ended each."""
    return _jobs(FailedJobRegistry, lambda registry, job: job.ended_at)


def scheduled_jobs() -> list[JobRow]:
    """Jobs waiting in RQ's scheduler, with when each is due."""
    return [JobRow(r.id, r.queue, r.description, r.at) for r in _jobs(
        ScheduledJobRegistry, lambda registry, job: registry.get_scheduled_time(job))]


def _failed(job_id: str) -> tuple[FailedJobRegistry, Job]:
    try:
        job = Job.fetch(job_id, connection=redis())
    except NoSuchJobError:
        raise SystemError("That job no longer exists.") from None
    registry = FailedJobRegistry(queue=queue(job.origin)) if job.origin in QUEUES else None
    if registry is None or job.id not in registry.get_job_ids():
        raise SystemError("That job is not among the failed jobs any more.")
    return registry, job


def retry_failed(job_id: str) -> str:
    """Put a failed job back on its queue; returns its description."""
    registry, job = _failed(job_id)
    registry.requeue(job)
    return job.description or job.func_name


def delete_failed(job_id: str) -> str:
    """Delete a failed job for good; returns its description."""
    registry, job = _failed(job_id)
    registry.remove(job, delete_job=True)
    return job.description or job.func_name


def reconcile_messages() -> list:
    """Messages whose outcome is unknown (waiting for a receipt), oldest first."""
    return db.session.execute(
        select(MESSAGES.c.id, MESSAGES.c.channel, MESSAGES.c.to_addr, MESSAGES.c.claimed_at,
               MESSAGES.c.reason, MESSAGES.c.provider, MESSAGES.c.provider_id)
        .where(MESSAGES.c.status == Status.RECONCILE)
        .order_by(MESSAGES.c.id).limit(LIMIT)
    ).all()


def settle(message_id: int, outcome: str, actor) -> None:
    """Mark a message in reconcile as sent or failed by hand, on its history and audit trail."""
    if outcome not in SETTLE:
        raise SystemError("Choose sent or failed.")
    status, reason = SETTLE[outcome]
    values = {"status": status, "reason": "" if status == Status.SENT else reason}
    if status == Status.SENT:
        values["sent_at"] = utcnow()
    row = db.session.execute(
        update(MESSAGES).where(MESSAGES.c.id == message_id,
                               MESSAGES.c.status == Status.RECONCILE)
        .values(**values)
        .returning(MESSAGES.c.id, MESSAGES.c.client_id, MESSAGES.c.appointment_id,
                   MESSAGES.c.channel, MESSAGES.c.to_addr)
    ).first()
    if row is None:
        db.session.rollback()
        raise SystemError("That message is no longer waiting in reconcile.")
    who = getattr(actor, "name", "") or getattr(actor, "email", "an admin")
    write_events([{"message_id": row.id, "status": status, "code": "manual",
                   "detail": f"{reason} by {who}"}])
    write_audits([audit_row(f"message.{outcome}",
                            f"{label(row.channel)} to {row.to_addr}: {reason.lower()} "
                            "(outcome was unknown)", row)], actor=actor)
