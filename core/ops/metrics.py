"""Prometheus metrics: what workers count lives in Redis (shared by every worker on every
host), what the database and the queues hold is read at scrape time.

Workers do not write prometheus-client's multiprocess files: each job runs in a forked work
horse with a new pid, which would leave one file per job. They add their counts to one Redis
hash instead (buffered, one pipeline per second at most), and /metrics turns it into counters
and a histogram. The web processes' own metrics use prometheus-client's multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py clears it at start and marks dead workers).
"""

import logging
import os
import threading
import time
from collections import Counter

from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from sqlalchemy import func, select

from core.extensions import db
from core.jobs import redis

log = logging.getLogger(__name__)

KEY = "tidings:metrics"
DB_CACHE_KEY = "tidings:metrics:messages"
DB_CACHE_SECONDS = 30  # the messages-by-status count is shared by scrapes this close together
BUCKETS = (1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)  # seconds
STAGES = ("queued_to_sent", "sent_to_delivered")
SEP = "|"


def bucket_of(seconds: float) -> str:
    """The histogram bucket (upper bound) a duration falls in."""
    for bound in BUCKETS:
        if seconds <= bound:
            return str(bound)
    return "+Inf"


class Recorder:
    """Counts events in memory and adds them to the Redis hash at most once a second."""

    def __init__(self, every: float = 1.0):
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        self.every, self.last = every, time.monotonic()

    def add(self, field: str, amount: float = 1) -> None:
        with self.lock:
            self.counts[field] += amount
        if time.monotonic() - self.last >= self.every:
            self.flush()

    def latency(self, stage: str, seconds: float) -> None:
        """One message went from one stage to the next in `seconds`."""
        seconds = max(0.0, seconds)
        self.add(SEP.join(("latency", stage, bucket_of(seconds))))
        self.add(SEP.join(("latency_sum", stage)), seconds)

    def provider_error(self, provider: str, kind: str, code: str) -> None:
        """A provider call failed (kind: transient, permanent, unknown) with `code`."""
        self.add(SEP.join(("provider_error", provider, kind, (code or "none")[:40])))

    def rate_wait(self, provider: str, seconds: float) -> None:
        """A sender waited `seconds` for the shared rate limit."""
        self.add(SEP.join(("rate_waits", provider)))
        self.add(SEP.join(("rate_wait_seconds", provider)), seconds)

    def flush(self) -> None:
        """Add the buffered counts to Redis (a lost flush only loses counts, never work)."""
        with self.lock:
            counts, self.counts = self.counts, Counter()
            self.last = time.monotonic()
        if not counts:
            return
        try:
            with redis().pipeline(transaction=False) as pipe:
                for field, amount in counts.items():
                    pipe.hincrbyfloat(KEY, field, amount)
                pipe.execute()
        except Exception:  # noqa: BLE001 - metrics never break a send
            log.warning("metrics flush failed", exc_info=True)


RECORDER = Recorder()

# The web processes' own metrics (all gunicorn workers together in multiprocess mode).
HTTP_REQUESTS = PromCounter("tidings_http_requests", "HTTP requests answered",
                            ["method", "endpoint", "status"])
HTTP_SECONDS = Histogram("tidings_http_request_duration_seconds", "Time to answer a request",
                         ["endpoint"])


def observe_request(response):
    """after_request: count the request by endpoint (never by path: bounded labels)."""
    endpoint = request.endpoint or "none"
    HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Count every request."""
    app.after_request(observe_request)


# ---- collecting at scrape time -----------------------------------------------------------------


def _counted() -> dict[tuple, float]:
    """The Redis hash as {(kind, *labels): value}."""
    raw = redis().hgetall(KEY)
    return {tuple(k.decode().split(SEP)): float(v) for k, v in raw.items()}


def _latency(counted: dict) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "tidings_delivery_latency_seconds",
        "Seconds from queued (or due) to sent, and from sent to delivered", labels=["stage"])
    for stage in STAGES:
        running, buckets = 0.0, []
        for bound in [*map(str, BUCKETS), "+Inf"]:
            running += counted.get(("latency", stage, bound), 0)
            buckets.append((bound, running))
        family.add_metric([stage], buckets, counted.get(("latency_sum", stage), 0))
    return family


def _event_counters(counted: dict) -> list:
    errors = CounterMetricFamily("tidings_provider_errors", "Failed provider calls by code",
                                 labels=["provider", "kind", "code"])
    waits = CounterMetricFamily("tidings_rate_limiter_waits",
                                "Sends that waited for the shared rate limit", labels=["provider"])
    waited = CounterMetricFamily("tidings_rate_limiter_wait_seconds",
                                 "Seconds senders waited for the shared rate limit",
                                 labels=["provider"])
    for key, value in counted.items():
        if key[0] == "provider_error" and len(key) == 4:
            errors.add_metric(list(key[1:]), value)
        elif key[0] == "rate_waits":
            waits.add_metric([key[1]], value)
        elif key[0] == "rate_wait_seconds":
            waited.add_metric([key[1]], value)
    return [errors, waits, waited]


def message_counts() -> list[tuple[str, str, str, int]]:
    """(direction, status, channel, count) of every message, cached DB_CACHE_SECONDS."""
    import json

    from core.messaging.models import Message

    cached = redis().get(DB_CACHE_KEY)
    if cached:
        return [tuple(row) for row in json.loads(cached)]
    rows = [tuple(row) for row in db.session.execute(
        select(Message.direction, Message.status, Message.channel, func.count())
        .group_by(Message.direction, Message.status, Message.channel)).all()]
    db.session.commit()
    redis().set(DB_CACHE_KEY, json.dumps(rows), ex=DB_CACHE_SECONDS)
    return rows


def _messages() -> GaugeMetricFamily:
    family = GaugeMetricFamily("tidings_messages", "Messages by direction, status and channel",
                               labels=["direction", "status", "channel"])
    for direction, status, channel, count in message_counts():
        family.add_metric([direction, status, channel], count)
    return family


def _queues() -> list:
    from core.ops.system import queue_stats

    depth = GaugeMetricFamily("tidings_queue_jobs", "RQ jobs by queue and state",
                              labels=["queue", "state"])
    for row in queue_stats():
        for state in ("queued", "started", "scheduled", "failed"):
            depth.add_metric([row["name"], state], row[state])
    return [depth]


def _inbound() -> list:
    from core.ops.health import inbound_backlog

    count, oldest = inbound_backlog()
    waiting = GaugeMetricFamily("tidings_inbound_backlog",
                                "Inbound messages stored and not yet handled")
    waiting.add_metric([], count)
    age = GaugeMetricFamily("tidings_inbound_backlog_oldest_seconds",
                            "Age of the oldest inbound message not yet handled")
    age.add_metric([], oldest)
    return [waiting, age]


def _liveness() -> list:
    from core.ops.health import live_workers, sweeper_age

    workers = GaugeMetricFamily("tidings_workers", "RQ workers seen in the last minute")
    workers.add_metric([], len(live_workers()))
    sweep = GaugeMetricFamily("tidings_sweeper_last_run_age_seconds",
                              "Seconds since the sweeper last ran (-1: never)")
    age = sweeper_age()
    sweep.add_metric([], -1 if age is None else age)
    return [workers, sweep]


class TidingsCollector:
    """Everything Tidings reports, read when Prometheus scrapes."""

    def collect(self):
        counted = _counted()
        yield _messages()
        yield from _queues()
        yield from _inbound()
        yield from _liveness()
        yield _latency(counted)
        yield from _event_counters(counted)


def exposition() -> bytes:
    """The /metrics body: Tidings' collector plus this web process (or all of them, in
    prometheus-client's multiprocess mode)."""
    registry = CollectorRegistry()
    registry.register(TidingsCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)
