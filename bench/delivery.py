"""Benchmark 2: delivery throughput through the Vonage SMS provider to a local fake Vonage.

Zero latency first, with the rate limiter **on** at a limit far above what a worker achieves
(so both of its costs are paid): one worker, then two, each compared per worker with the fair
reference (bench/reference.py: a bare `requests` loop in a process of its own with the app's
client settings), one loop per worker measured side by side in the same run. One run with
the limiter off shows what it costs.

Then a realistic provider latency (100 ms and 300 ms per answer) against a 30/s and a 300/s
account limit: how many senders it takes to keep the limit saturated, and the busiest
1-second window at the fake, which must never exceed the limit.
"""

import math
import shutil
import subprocess
import sys
import tempfile
import time

from sqlalchemy import func, select

from bench import data, fake
from bench.env import ROOT, application, line, start_worker, stop
from core.extensions import db
from core.messaging import compose, tasks
from core.messaging.models import Message

ABOVE = 100_000  # a limit no worker reaches here: the limiter runs and never waits
# (latency s, limit/s, workers, senders per worker, messages): senders ≈ limit × latency
LATENCY_RUNS = (
    (0.1, 30, 1, 4, 600),
    (0.1, 300, 3, 12, 3000),
    (0.3, 30, 1, 11, 600),
    (0.3, 300, 3, 12, 3000),  # 36 senders: PostgreSQL here allows 100 connections in all
)


def make_messages(ids: list[int]) -> int:
    """A fanned-out broadcast to `ids` (queued, jobs enqueued); returns its id."""
    broadcast = compose.create_broadcast(actor=None, channel="sms",
                                         recipients={"appointment_ids": ids},
                                         body="Hello {{ first_name }}, see you tomorrow.",
                                         options={"outside_window": True})  # any hour
    tasks.fan_out(broadcast.id)  # the fan-out job also sits in the queue: a no-op by then
    return broadcast.id


def sent(broadcast_id: int) -> int:
    """Messages of the broadcast that reached sent or a final failure."""
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Message).where(
        Message.broadcast_id == broadcast_id,
        Message.status.in_(["sent", "delivered", "failed", "reconcile"])))


def drain(app, server, ca_path, broadcast_id: int, total: int, workers: int, rate: float,
          timeout: float = 600, **env) -> list[float]:
    """Start `workers` worker processes, wait until every message went; arrival times at
    the fake."""
    first = len(server.arrivals)
    procs = [start_worker(app, PROVIDER_RATE_PER_SECOND=rate, **env,
                          **fake.vonage_env(server, ca_path)) for _ in range(workers)]
    try:
        deadline = time.monotonic() + timeout
        while sent(broadcast_id) < total and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for proc in procs:
            stop(proc)
    return server.arrivals[first:]


def reference(server, ca_path: str, n: int, processes: int = 1) -> list[float]:
    """Rates of `processes` fair reference loops run side by side (bench/reference.py)."""
    out = subprocess.run([sys.executable, "-m", "bench.reference",
                          f"https://{server.host}/sms/json", ca_path, str(n), str(processes)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900, check=True)
    return [float(row) for row in out.stdout.split()]


def rate_of(arrivals: list[float]) -> float:
    """Requests per second between the first and the last arrival."""
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0


def sustained(arrivals: list[float], seconds: float = 5.0) -> float:
    """The best rate over any `seconds`-long window (a run's tail of retries or job starts
    does not dilute it, as it does the first..last rate)."""
    times, best, j = sorted(arrivals), 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + seconds:
            j += 1
        best = max(best, j - i)
    return best / seconds


def load() -> str:
    """The machine's load average now (the machine may be shared)."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def provider_cpu(server, ca_path: str, n: int = 500) -> tuple[float, float]:
    """CPU ms per text of this thread (the fake's threads excluded): the lean wire, then the
    SDK path of the same provider, alternating in blocks of 50."""
    import os

    from core.providers.base import Outgoing
    from core.providers.vonage import VonageConfig, VonageSmsProvider

    os.environ["REQUESTS_CA_BUNDLE"] = ca_path
    provider = VonageSmsProvider(VonageConfig(api_key="abcd1234", api_secret="api-secret-4f2a",
                                              sender="+15550009999", rest_host=server.host))
    text = Outgoing(message_id=1, channel="sms", to="+12025550100", body="Hello Client1, "
                    "see you tomorrow.")
    spent = {"wire": 0.0, "sdk": 0.0}
    for send in (provider.send, provider._send_sdk):  # warm both (connections, imports)
        send(text)
    for _ in range(n // 50):
        for name, send in (("wire", provider.send), ("sdk", provider._send_sdk)):
            start = time.thread_time()
            for _ in range(50):
                send(text)
            spent[name] += time.thread_time() - start
    return spent["wire"] * 1000 / n, spent["sdk"] * 1000 / n


def throughput(app, server, ca_path: str, size: int, results: dict) -> None:
    """Zero latency: 1 and 2 workers (limiter on) against as many reference loops."""
    ids = data.appointments(size)
    print(f"delivery  size={size:,} (PostgreSQL, zero latency, limiter on at {ABOVE:,}/s)")
    wire, sdk = provider_cpu(server, ca_path)
    results["wire_ms"], results["sdk_ms"] = wire, sdk
    line("CPU per text: lean wire / SDK path", f"{wire:.2f} ms", f"SDK {sdk:.2f} ms "
         f"({wire / sdk:.2f}x), same provider, same fake, alternating")
    for workers in (1, 2):
        refs = reference(server, ca_path, min(size, 2000), workers)
        ref = sum(refs) / len(refs)
        line(f"reference: {workers} requests loop(s) side by side", f"{ref:,.0f} msg/s",
             f"per loop (load {load()})")
        rate = rate_of(drain(app, server, ca_path, make_messages(ids), size, workers, ABOVE))
        results[workers], results[f"reference{workers}"] = rate, ref
        line(f"{workers} worker(s) through VonageSmsProvider", f"{rate:,.0f} msg/s",
             f"{rate / workers:,.0f}/worker = {rate / workers / ref:.2f}x reference per "
             f"worker (target >= 0.8)")
    rate = rate_of(drain(app, server, ca_path, make_messages(ids), size, 1, 0))
    results["limiter_off"] = rate
    line("1 worker, limiter off (for its cost)", f"{rate:,.0f} msg/s",
         f"limiter on is {results[1] / rate:.2f}x of it")


def latency(ca, ca_path: str, runs, results: dict) -> None:
    """Provider latency: senders needed for the limit, and the busiest second at the fake."""
    for delay, limit, workers, senders, n in runs:
        with application("postgresql") as app, fake.running(ca, delay=delay) as server:
            ids = data.appointments(n)
            broadcast = make_messages(ids)
            arrivals = drain(app, server, ca_path, broadcast, n, workers, limit,
                             DELIVERY_SENDERS=senders)
            retried = sum(server.accepted.values()) - len(server.accepted)
            print(f"  (retries: {sum(server.refused.values())} refused by the fake; "
                  f"{len(arrivals) - n} requests beyond one per message; {retried} twice)")
        peak, rate = fake.max_per_second(arrivals), rate_of(arrivals)
        needed = math.ceil(limit * delay * 1.1)
        print(f"delivery  {delay * 1000:.0f} ms latency, limit {limit}/s, {workers} worker(s) "
              f"x {senders} senders, {n} messages (load {load()})")
        line("mean rate first..last request", f"{rate:,.1f} msg/s",
             f"{rate / limit:.0%} of the limit; ~{needed} senders needed (limit x latency)")
        best = sustained(arrivals)
        line("best 5-second rate", f"{best:,.1f} msg/s", f"{best / limit:.0%} of the limit")
        line("busiest 1-second window", f"{peak}", f"never above {limit}: {peak <= limit}")
        results[(delay, limit)] = (rate, peak, best)


def run(size: int = 2000, quick: bool = False) -> dict:
    """All runs; prints and returns the figures."""
    tmpdir = tempfile.mkdtemp(prefix="bench-ca-")
    results: dict = {}
    try:
        ca, ca_path = fake.ca_bundle(tmpdir)
        with application("postgresql") as app, fake.running(ca) as server:
            throughput(app, server, ca_path, size, results)
        runs = LATENCY_RUNS if not quick else [(*r[:4], r[4] // 2) for r in LATENCY_RUNS
                                               if r[0] == 0.1]
        latency(ca, ca_path, runs, results)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return results
