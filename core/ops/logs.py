"""Logging: one line per request and per job, stamped with its request id or job id, as text
or as JSON lines (LOG_FORMAT=json). Never a message body or a secret: a request line names
the route's path with its link tokens masked, a job line names the function, not its arguments.
"""

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request

log = logging.getLogger("tidings.request")
job_log = logging.getLogger("tidings.job")

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s%(job_id)s] %(name)s: %(message)s"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # an incoming X-Request-ID we keep
SECRET_ARGS = {"token"}  # URL parts that are credentials (secure links, signed media)
FIELDS = ("method", "path", "status", "duration_ms", "func", "queue", "outcome")


class ContextFilter(logging.Filter):
    """Stamp the current request id and RQ job id on every record ("" when none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "") if has_request_context() else ""
        if not getattr(record, "job_id", ""):
            from rq import get_current_job

            job = get_current_job()
            record.job_id = job.id if job else ""
        return True


class HideDevServerLines(logging.Filter):
    """Drop the dev server's own access lines: they carry the full URL (link tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "werkzeug" and " HTTP/" in record.getMessage())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        for key in ("request_id", "job_id", *FIELDS):
            value = getattr(record, key, "")
            if value != "":
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (so a redirected stderr is honoured)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Install the one root handler (idempotent): text or JSON lines on stderr."""
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, StderrHandler)]
    handler = StderrHandler()
    handler.addFilter(ContextFilter())
    handler.addFilter(HideDevServerLines())
    handler.setFormatter(JsonFormatter() if log_format == "json"
                         else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for logger in (log, job_log):  # Alembic's fileConfig disables loggers made before it ran
        logger.disabled = False


def logged_path() -> str:
    """The request's path with credential parts of the URL masked (no query string)."""
    path = request.path
    for key, value in (request.view_args or {}).items():
        if key in SECRET_ARGS and isinstance(value, str) and value:
            path = path.replace(value, "…")
    return path


def start_request() -> None:
    """before_request: take the caller's X-Request-ID when sane, else make one; start the clock."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def end_request(response):
    """after_request: echo the request id and log the request's one line."""
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    started = g.get("request_started", time.perf_counter())
    duration = round((time.perf_counter() - started) * 1000, 1)
    path = logged_path()
    log.info("%s %s %s %.1fms", request.method, path, response.status_code, duration,
             extra={"method": request.method, "path": path, "status": response.status_code,
                    "duration_ms": duration})
    return response


def init_app(app: Flask) -> None:
    """Configure logging from LOG_FORMAT and log every request."""
    configure(app.config.get("LOG_FORMAT", "text"))
    app.before_request(start_request)
    app.after_request(end_request)


def job_line(job, queue_name: str, outcome: str, seconds: float) -> None:
    """Log a job's one line: its id, function, queue, outcome and duration (no arguments)."""
    duration = round(seconds * 1000, 1)
    job_log.info("job %s %s on %s: %s in %.1fms", job.id, job.func_name, queue_name, outcome,
                 duration, extra={"job_id": job.id, "func": job.func_name, "queue": queue_name,
                                  "outcome": outcome, "duration_ms": duration})
