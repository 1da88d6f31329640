"""Benchmark 2: delivery throughput through the Vonage SMS provider (real SDK) to a local fake.

One worker, then two, at zero latency; the reference is a plain `requests` loop to the same
fake. Then 100 ms of latency and a limit of 30/s: the busiest 1-second window at the fake
must not exceed 30 (and should reach it).
"""

import shutil
import tempfile
import time

import requests
from sqlalchemy import func, select

from bench import data, fake
from bench.env import application, line, start_worker, stop
from core.extensions import db
from core.messaging import compose, tasks
from core.messaging.models import Message
from core.messaging.pipeline import CHUNK

LATENCY_RATE = 30


def make_messages(ids: list[int]) -> int:
    """A fanned-out broadcast to `ids` (queued, jobs enqueued); returns its id."""
    broadcast = compose.create_broadcast(actor=None, channel="sms",
                                         recipients={"appointment_ids": ids},
                                         body="Hello {{ first_name }}, see you tomorrow.")
    tasks.fan_out(broadcast.id)  # the fan-out job also sits in the queue: a no-op by then
    return broadcast.id


def sent(broadcast_id: int) -> int:
    """Messages of the broadcast that reached sent or a final failure."""
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Message).where(
        Message.broadcast_id == broadcast_id,
        Message.status.in_(["sent", "delivered", "failed", "reconcile"])))


def drain(app, server, ca_path, broadcast_id: int, total: int, workers: int, rate: float,
          timeout: float = 600) -> float:
    """Start `workers` worker processes, wait until every message went; seconds at the fake."""
    first = len(server.arrivals)
    procs = [start_worker(app, PROVIDER_RATE_PER_SECOND=rate, **fake.vonage_env(server, ca_path))
             for _ in range(workers)]
    try:
        deadline = time.monotonic() + timeout
        while sent(broadcast_id) < total and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for proc in procs:
            stop(proc)
    arrivals = server.arrivals[first:]
    return arrivals


def reference(server, ca_path: str, n: int) -> float:
    """Requests per second of a plain requests.Session loop to the same fake."""
    session = requests.Session()
    url = f"https://{server.host}/sms/json"
    form = {"to": "12025550000", "from": "15550009999", "text": "Hello", "type": "text",
            "client-ref": "0"}
    start = time.perf_counter()
    for _ in range(n):
        session.post(url, data=form, auth=("abcd1234", "api-secret-4f2a"), verify=ca_path,
                     timeout=10).raise_for_status()
    return n / (time.perf_counter() - start)


def rate_of(arrivals: list[float]) -> float:
    """Requests per second between the first and the last arrival."""
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0


def run(size: int = 2000) -> dict:
    """All three runs; prints and returns the figures."""
    tmpdir = tempfile.mkdtemp(prefix="bench-ca-")
    results = {}
    try:
        ca, ca_path = fake.ca_bundle(tmpdir)
        with application("postgresql") as app, fake.running(ca) as server:
            ids = data.appointments(size)
            ref = reference(server, ca_path, min(size, 2000))
            server.arrivals.clear()
            print(f"delivery  size={size:,} (PostgreSQL, zero latency)")
            line("reference: requests.Session loop", f"{ref:,.0f} msg/s")
            for workers in (1, 2):
                arrivals = drain(app, server, ca_path, make_messages(ids), size, workers, 0)
                rate = rate_of(arrivals)
                results[workers] = rate
                line(f"{workers} worker(s) through VonageSmsProvider", f"{rate:,.0f} msg/s",
                     f"{rate / workers:,.0f}/worker (target >= 300); {rate / ref:.2f}x "
                     f"reference (target >= 0.8)")
            results["reference"] = ref
        with application("postgresql") as app, fake.running(ca, delay=0.1) as server:
            workers = 5  # one worker sends one at a time: 100 ms each caps it at 10/s
            n = CHUNK * workers  # one delivery job per worker, ~33 s at the limit
            ids = data.appointments(n)
            arrivals = drain(app, server, ca_path, make_messages(ids), n, workers, LATENCY_RATE)
            peak = fake.max_per_second(arrivals)
            print(f"delivery  100 ms latency, limit {LATENCY_RATE}/s, {workers} workers, "
                  f"{n} messages")
            line("mean rate first..last request", f"{rate_of(arrivals):,.1f} msg/s")
            line("busiest 1-second window", f"{peak}", f"never above {LATENCY_RATE}: "
                 f"{peak <= LATENCY_RATE}")
            results["latency_rate"], results["latency_peak"] = rate_of(arrivals), peak
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return results
