"""Profiles of the hot paths with pyinstrument: `python -m bench.profile delivery|compose|fanout`.

delivery: one delivery job of 200 messages in-process through VonageSmsProvider to the fake.
compose: create_broadcast() to N appointments (the compose POST's work).
fanout: the fan-out job of a broadcast to N appointments (rows, delivery jobs). On PostgreSQL
the profile is of the planning thread; time spent waiting for the writer thread (COPY,
commit, enqueue) shows as Future.result.
"""

import logging
import os
import shutil
import sys
import tempfile

from pyinstrument import Profiler

from bench import data, fake
from bench.env import application


def delivery(size: int = 200) -> str:
    """The profile of deliver() over `size` queued messages."""
    from sqlalchemy import select

    from bench.delivery import make_messages
    from core.extensions import db
    from core.jobs import queue
    from core.messaging import delivery as run
    from core.messaging import tasks
    from core.messaging.models import Message
    from core.messaging.pipeline import CHUNK

    tmpdir = tempfile.mkdtemp(prefix="bench-ca-")
    try:
        ca, ca_path = fake.ca_bundle(tmpdir)
        with application("postgresql") as app, fake.running(ca) as server:
            os.environ.update(fake.vonage_env(server, ca_path))
            broadcast_id = make_messages(data.appointments(size))
            queue("default").empty()
            ids = list(db.session.scalars(select(Message.id).where(
                Message.broadcast_id == broadcast_id).order_by(Message.id)))[:CHUNK]
            del tasks
            profiler = Profiler(interval=0.0005)
            profiler.start()
            outcome = run.deliver(ids)
            profiler.stop()
            assert app and outcome.get("sent") == len(ids), outcome
            return profiler.output_text(unicode=False, color=False, show_all=False)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def compose(size: int = 10_000) -> str:
    """The profile of create_broadcast() to `size` appointments."""
    from core.messaging import compose as c

    with application("postgresql"):
        ids = data.appointments(size)
        profiler = Profiler()
        profiler.start()
        c.create_broadcast(actor=None, channel="sms", recipients={"appointment_ids": ids},
                           body="Hello {{ first_name }}, we are closed today.")
        profiler.stop()
        return profiler.output_text(unicode=False, color=False)


def fanout(size: int = 20_000) -> str:
    """The profile of the fan-out job of a broadcast to `size` appointments."""
    from core.jobs import queue
    from core.messaging import compose as c
    from core.messaging import tasks

    with application("postgresql"):
        ids = data.appointments(size)
        broadcast = c.create_broadcast(actor=None, channel="sms",
                                       recipients={"appointment_ids": ids},
                                       body="Hello {{ first_name }}, we are closed today.")
        queue("default").empty()
        profiler = Profiler()
        profiler.start()
        tasks.fan_out(broadcast.id)
        profiler.stop()
        return profiler.output_text(unicode=False, color=False)


if __name__ == "__main__":
    logging.getLogger("alembic").setLevel(logging.WARNING)
    name = sys.argv[1] if len(sys.argv) > 1 else "delivery"
    default = {"delivery": 200, "fanout": 20_000}.get(name, 10_000)
    size = int(sys.argv[2]) if len(sys.argv) > 2 else default
    print({"delivery": delivery, "compose": compose, "fanout": fanout}[name](size))
