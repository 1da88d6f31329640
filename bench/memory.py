"""Benchmark 4: peak RSS of a worker (parent and work horses) while it sends N messages, and of
the web app serving the Outbox over them.

Messages are made by one INSERT … SELECT (queued, due now) and enqueued as delivery jobs;
one `python worker.py` sends them through the Vonage provider (real SDK) to the local fake.
Its process group is sampled from /proc every 50 ms (VmRSS and VmHWM of each process).
"""

import os
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


def group(pgid: int) -> list[int]:
    """The live process ids of a process group."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.getpgid(int(name)) == pgid:
                    pids.append(int(name))
            except OSError:
                continue
    return pids


class Sampler(threading.Thread):
    """Samples the worker's process group: the parent's RSS over time, each horse's peak."""

    def __init__(self, parent: int):
        super().__init__(daemon=True)
        self.parent, self.running = parent, True
        self.parent_rss: list[int] = []
        self.horses: dict[int, int] = {}  # pid -> peak KiB, in order of first sight

    def run(self):
        while self.running:
            for pid in group(self.parent):
                if pid == self.parent:
                    self.parent_rss.append(kib(pid, "VmRSS"))
                else:
                    self.horses[pid] = max(self.horses.get(pid, 0), kib(pid, "VmHWM"))
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
            enqueue_delivery(list(db.session.scalars(
                select(Message.id).where(Message.broadcast_id == broadcast.id)
                .order_by(Message.id))))
            proc = start_worker(app, PROVIDER_RATE_PER_SECOND=0,
                                **fake.vonage_env(server, ca_path))
            sampler = Sampler(proc.pid)
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
    third = max(1, len(horses) // 3)
    early, late = max(horses[:third]), max(horses[-third:])
    print(f"memory  size={size:,} messages sent by one worker in {seconds:,.0f} s "
          f"({len(horses)} work horses seen)")
    line("worker parent peak RSS (VmHWM)", f"{parent_peak / 1024:,.1f} MiB",
         f"RSS first/last sample {rss[0] / 1024:,.1f}/{rss[-1] / 1024:,.1f} MiB")
    line("work horse peak RSS (max over jobs)", f"{max(horses) / 1024:,.1f} MiB",
         "target <= 200 MiB")
    line("work horse growth (last third vs first)", f"{(late - early) / early:+.1%}",
         "target < 10 %")
    line("web process peak RSS (bench process)", f"{web_peak / 1024:,.1f} MiB",
         f"{before / 1024:,.1f} MiB before 400 Outbox requests (includes the fake server)")
    return {"parent_mib": parent_peak / 1024, "horse_mib": max(horses) / 1024,
            "growth": (late - early) / early, "web_mib": web_peak / 1024}
