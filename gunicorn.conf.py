"""gunicorn settings read from the working directory: prometheus-client's multiprocess mode.

With PROMETHEUS_MULTIPROC_DIR set (an empty directory of its own), every gunicorn worker
writes its metrics there and /metrics adds them up; the directory is emptied when gunicorn
starts and a worker that exits is marked dead so its gauges disappear.
"""

import os
import shutil


def on_starting(server):
    """Start from an empty metrics directory (files of a previous run would add up)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    """Forget a gunicorn worker's live gauges when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
