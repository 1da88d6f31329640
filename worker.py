"""The RQ worker entry point: `python worker.py` runs one worker with the scheduler.

The app is built once in the parent; each job runs in a forked work horse, which
drops the database connections it inherited so parent and child never share a socket.
"""

import gc
import logging
import sys
import time

from rq import Worker

from core.extensions import db
from core.jobs import QUEUES
from core.ops.logs import job_line
from core.ops.recovery import release_dead_scheduler_locks

log = logging.getLogger("tidings.worker")


# Sessions a work horse inherited from its parent: kept referenced and never closed, because
# their connections' sockets belong to the parent (closing one would send a ROLLBACK or a
# Terminate down the parent's connection). The horse leaves through os._exit, so they are
# never finalised.
_INHERITED: list = []


def forget_inherited_sessions() -> None:
    """Make `db.session` start afresh in a forked process without touching the parent's."""
    registry = db.session.registry
    held = getattr(registry, "registry", None)
    if isinstance(held, dict):  # a ScopedRegistry (Flask-SQLAlchemy: one per app context)
        _INHERITED.extend(held.values())
        held.clear()
    elif registry.has():
        _INHERITED.append(registry())
        registry.clear()
    db.engine.dispose(close=False)  # the pool's idle connections stay the parent's too


class TidingsWorker(Worker):
    """An RQ worker whose work horses start with a fresh database pool and session, and
    which recovers promptly from a worker killed with kill -9 (see core/ops/recovery.py)."""

    # RQ's defaults (420 s TTL, maintenance every 10 min, job heartbeat every 30 s) let a dead
    # worker look alive for minutes: an idle worker now wakes every 30 s, retries the scheduler
    # lock every 15 s and a busy one beats every 10 s, so /readyz and the System page see it.
    WORKER_TTL, MAINTENANCE_INTERVAL, JOB_MONITORING_INTERVAL = 45, 15, 10

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", self.WORKER_TTL)
        kwargs.setdefault("maintenance_interval", self.MAINTENANCE_INTERVAL)
        kwargs.setdefault("job_monitoring_interval", self.JOB_MONITORING_INTERVAL)
        super().__init__(*args, **kwargs)

    def _start_scheduler(self, *args, **kwargs):
        release_dead_scheduler_locks(self.connection, self.queue_names())
        return super()._start_scheduler(*args, **kwargs)

    def run_maintenance_tasks(self):
        if self.scheduler is not None and not self.scheduler.acquired_locks:
            release_dead_scheduler_locks(self.connection, self.queue_names())
        return super().run_maintenance_tasks()

    def main_work_horse(self, job, queue):
        forget_inherited_sessions()
        return super().main_work_horse(job, queue)

    def perform_job(self, job, queue, execution) -> bool:
        started = time.monotonic()
        ok = super().perform_job(job, queue, execution)
        job_line(job, queue.name, "finished" if ok else "failed", time.monotonic() - started)
        return ok


def make_worker(app, queues=QUEUES, name: str | None = None) -> TidingsWorker:
    """A worker on the app's Redis listening to the given queues, highest priority first."""
    from core.jobs import queue

    with app.app_context():
        queues = [queue(q) for q in queues]
        return TidingsWorker(queues, connection=app.extensions["redis"], name=name)


def main(argv: list[str]) -> int:
    """Run a worker until stopped (`--burst` to stop when the queues are empty)."""
    from app import create_app

    app = create_app()  # logging too: LOG_FORMAT, each record stamped with its job id
    burst = "--burst" in argv
    with app.app_context():
        worker = make_worker(app)
        # Everything built so far lives as long as the worker: move it out of the collector's
        # reach, so the scheduler process and each forked work horse do not copy the pages a
        # collection would touch (copy-on-write), and their memory stays shared.
        gc.collect()
        gc.freeze()
        log.info("worker %s listening on %s", worker.name, ", ".join(QUEUES))
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
