"""Benchmark 4: peak RSS of a worker (parent and work horses) while it sends N messages, and of
the web app serving the Outbox over them.

Messages are made by one INSERT … SELECT (queued, due now) and enqueued as delivery jobs;
one `python worker.py` sends them through the Vonage provider (real SDK) to the local fake.
First the worker at rest: its own RSS and PSS and those of every process below it (the RQ
scheduler), found by parent pid. Then, while it sends, the processes below it are sampled
from /proc every 50 ms: RQ's work horses call setsid() and leave the worker's process group,
so they are found by parent pid too (VmHWM and PSS of each).
"""

import resource
import shutil
import tempfile
import threading
import time

from sqlalchemy import func, select, text

from bench import data, fake
from bench.delivery import sent
from bench.env import application, line, start_worker, stop
from bench.outbox import signed_in
from core.extensions import db
from core.messaging.models import Broadcast, Message
from core.messaging.pipeline import enqueue_delivery
from tests.processes import descendants

FILL = """
INSERT INTO messages (broadcast_id, client_id, appointment_id, direction, channel, to_addr,
                      from_addr, subject, body, status, reason, send_at, provider, segments,
                      attempts, created_at)
SELECT :broadcast, a.client_id, a.id, 'out', 'sms', c.mobile, '', '',
       'Hello ' || c.first_name || ', see you tomorrow at 9:00.', 'queued', '', now(), '', 0, 0,
       now()
FROM generate_series(1, :n) AS g
JOIN appointments a ON a.id = :first + (g % :clients)
JOIN clients c ON c.id = a.client_id
"""


def kib(pid: int, field: str) -> int:
    """A VmRSS / VmHWM figure of a process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for row in status:
                if row.startswith(field + ":"):
                    return int(row.split()[1])
    except OSError:
        pass
    return 0


def pss(pid: int) -> int:
    """The proportional set size of a process in KiB: shared pages split among their users
    (what a forked child really adds; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for row in rollup:
                if row.startswith("Pss:"):
                    return int(row.split()[1])
    except OSError:
        pass
    return 0


def idle(proc, settle: float = 8.0) -> dict[int, tuple[int, int]]:
    """The worker at rest: pid -> (RSS, PSS) KiB of it and of every process below it (the
    RQ scheduler), found by parent pid once it has settled."""
    deadline = time.monotonic() + 60
    while not descendants(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)  # the scheduler process starts with the worker
    time.sleep(settle)
    return {pid: (kib(pid, "VmRSS"), pss(pid)) for pid in [proc.pid, *descendants(proc.pid)]}


class Sampler(threading.Thread):
    """Samples the worker's processes every 50 ms, found by parent pid (RQ's work horses call
    setsid() and leave the worker's process group): the parent's RSS over time, and each
    horse's peak RSS (VmHWM) and peak PSS."""

    def __init__(self, parent: int, others: set[int]):
        super().__init__(daemon=True)
        self.parent, self.others, self.running = parent, others, True
        self.parent_rss: list[int] = []
        self.horses: dict[int, int] = {}  # pid -> peak KiB, in order of first sight
        self.horses_pss: dict[int, int] = {}

    def run(self):
        while self.running:
            self.parent_rss.append(kib(self.parent, "VmRSS"))
            for pid in descendants(self.parent):
                if pid not in self.others:
                    self.horses[pid] = max(self.horses.get(pid, 0), kib(pid, "VmHWM"))
                    self.horses_pss[pid] = max(self.horses_pss.get(pid, 0), pss(pid))
            time.sleep(0.05)


def run(size: int = 100_000) -> dict:
    """Send `size` messages with one worker, then serve pages; prints and returns MiB figures."""
    tmpdir = tempfile.mkdtemp(prefix="bench-ca-")
    try:
        ca, ca_path = fake.ca_bundle(tmpdir)
        with application("postgresql") as app, fake.running(ca) as server:
            ids = data.appointments(min(size, 10_000))
            broadcast = Broadcast(channel="sms", body="memory", recipients={}, status="sending")
            db.session.add(broadcast)
            db.session.commit()
            db.session.execute(text(FILL), {"n": size, "first": min(ids), "clients": len(ids),
                                            "broadcast": broadcast.id})
            db.session.commit()
            proc = start_worker(app, PROVIDER_RATE_PER_SECOND=0,
                                **fake.vonage_env(server, ca_path))
            at_rest = idle(proc)
            enqueue_delivery(list(db.session.scalars(
                select(Message.id).where(Message.broadcast_id == broadcast.id)
                .order_by(Message.id))))
            sampler = Sampler(proc.pid, set(at_rest))
            sampler.start()
            start = time.monotonic()
            try:
                while sent(broadcast.id) < size:
                    time.sleep(0.5)
            finally:
                sampler.running = False
                parent_peak = kib(proc.pid, "VmHWM")
                stop(proc)
            seconds = time.monotonic() - start
            horses = list(sampler.horses.values())
            rss = [r for r in sampler.parent_rss if r]
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            client = signed_in(app)
            top = db.session.scalar(select(func.max(Message.id)))
            for n in range(200):
                client.get(f"/messages/outbox?before={top - n * 400}")
                client.get("/messages/outbox?q=Client42", headers={"HX-Request": "true"})
            web_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    parent_idle = at_rest[proc.pid]
    rest = [v for pid, v in at_rest.items() if pid != proc.pid]
    total_rss = sum(v[0] for v in at_rest.values())
    total_pss = sum(v[1] for v in at_rest.values())
    print(f"memory  idle worker (worker.py at rest, {len(at_rest)} processes found by parent pid)")
    line("idle worker parent RSS / PSS", f"{parent_idle[0] / 1024:,.1f} MiB",
         f"PSS {parent_idle[1] / 1024:,.1f} MiB")
    for n, (r, p) in enumerate(rest):
        line(f"idle child {n + 1} (RQ scheduler) RSS / PSS", f"{r / 1024:,.1f} MiB",
             f"PSS {p / 1024:,.1f} MiB")
    line("idle worker as a whole, PSS", f"{total_pss / 1024:,.1f} MiB",
         f"RSS summed {total_rss / 1024:,.1f} MiB (counts shared pages twice); "
         "target <= 120 MiB")
    third = max(1, len(horses) // 3)
    early, late = max(horses[:third]), max(horses[-third:])
    print(f"memory  size={size:,} messages sent by one worker in {seconds:,.0f} s "
          f"({len(horses)} work horses seen)")
    line("worker parent peak RSS (VmHWM)", f"{parent_peak / 1024:,.1f} MiB",
         f"RSS first/last sample {rss[0] / 1024:,.1f}/{rss[-1] / 1024:,.1f} MiB")
    line("work horse peak RSS (max over jobs)", f"{max(horses) / 1024:,.1f} MiB",
         "target <= 200 MiB")
    line("work horse peak PSS (max over jobs)",
         f"{max(sampler.horses_pss.values()) / 1024:,.1f} MiB", "what a horse adds")
    line("work horse growth (last third vs first)", f"{(late - early) / early:+.1%}",
         "target < 10 %")
    line("web process peak RSS (bench process)", f"{web_peak / 1024:,.1f} MiB",
         f"{before / 1024:,.1f} MiB before 400 Outbox requests (includes the fake server)")
    return {"idle_pss_mib": total_pss / 1024, "idle_rss_mib": total_rss / 1024,
            "horse_pss_mib": max(sampler.horses_pss.values()) / 1024,
            "parent_mib": parent_peak / 1024, "horse_mib": max(horses) / 1024,
            "growth": (late - early) / early, "web_mib": web_peak / 1024}
