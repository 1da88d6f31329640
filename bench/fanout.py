"""Benchmark 1: a mass notice to N appointments — compose time, fan-out time, job count.

Reference: one INSERT … SELECT writing the same Message rows (the database's own limit).
"""

import os
import time

from sqlalchemy import delete, func, insert, literal, select

from bench import data
from bench.env import application, line, timed
from core.appointments.models import Appointment
from core.clients.models import Client
from core.extensions import db
from core.jobs import queue
from core.messaging import compose, fanout, tasks
from core.messaging.models import Broadcast, Message, MessageEvent
from core.types import utcnow

BODY = "Hello {{ first_name }}, we are closed today because of snow. Call us to rebook."


def reference_insert(appointment_ids_count: int) -> float:
    """Seconds for one INSERT … SELECT of the same rows (then removed again)."""
    holder = Broadcast(channel="sms", body="reference", recipients={}, status="sent")
    db.session.add(holder)
    db.session.commit()
    now = utcnow()
    source = (select(literal(holder.id), Client.id, Appointment.id, literal("out"), literal("sms"),
                     Client.mobile, literal(""), literal(""), literal(BODY), literal("queued"),
                     literal(""), literal(now), literal(now))
              .join(Client, Client.id == Appointment.client_id))
    columns = ["broadcast_id", "client_id", "appointment_id", "direction", "channel", "to_addr",
               "from_addr", "subject", "body", "status", "reason", "send_at", "created_at"]
    start = time.perf_counter()
    db.session.execute(insert(Message).from_select(columns, source))
    db.session.commit()
    seconds = time.perf_counter() - start
    db.session.execute(delete(Message).where(Message.broadcast_id == holder.id))
    db.session.commit()
    return seconds


def run_one(backend: str, size: int) -> dict:
    """Fan out one broadcast of `size` appointments on `backend`; prints and returns figures."""
    with application(backend) as app:
        ids = data.appointments(size)
        q = queue("default")
        compose_s, broadcast = timed(compose.create_broadcast, actor=None, channel="sms",
                                     recipients={"appointment_ids": ids}, body=BODY)
        q.empty()  # the fan-out job: run it here, in-process, to time it alone
        analyze_s = []
        real_analyze = fanout.analyze_after_bulk

        def timed_analyze(*args):  # the part of the job after every message and job exists
            seconds, ran = timed(real_analyze, *args)
            analyze_s.append(seconds if ran else 0.0)
            return ran

        fanout.analyze_after_bulk = timed_analyze
        try:
            load_before = os.getloadavg()[0]
            fan_s, created = timed(tasks.fan_out, broadcast.id)
            load_after = os.getloadavg()[0]
        finally:
            fanout.analyze_after_bulk = real_analyze
        jobs = q.count
        rows = db.session.scalar(select(func.count()).select_from(Message)
                                 .where(Message.broadcast_id == broadcast.id))
        events = db.session.scalar(select(func.count()).select_from(MessageEvent))
        ref_s = reference_insert(size)
        app.extensions["redis"].flushdb()
    print(f"fanout  backend={backend} size={size:,}")
    line("compose (create_broadcast alone)", f"{compose_s * 1000:,.0f} ms",
         "the real POST: bench compose")
    line("fan-out: rows committed + jobs enqueued", f"{fan_s:,.2f} s",
         "target <= 5 s for 100,000 on PostgreSQL")
    line("  of which ANALYZE messages (after the jobs)", f"{sum(analyze_s):,.2f} s",
         f"load {load_before:.1f} -> {load_after:.1f}")
    line("messages / events written", f"{rows:,} / {events:,}", "no event at creation")
    line("delivery jobs", f"{jobs:,}", f"limit {size // 100:,}  ok={jobs <= size // 100}")
    line("reference INSERT … SELECT", f"{ref_s:,.2f} s", f"fan-out / reference = "
         f"{fan_s / ref_s:,.1f}x")
    return {"backend": backend, "size": size, "compose_ms": compose_s * 1000, "fanout_s": fan_s,
            "analyze_s": sum(analyze_s), "load": (load_before, load_after),
            "jobs": jobs, "reference_s": ref_s, "created": created}


def run(sizes: list[int], backends=("postgresql", "sqlite")) -> list[dict]:
    """Every backend × size."""
    return [run_one(b, s) for b in backends for s in sizes]
