"""Shared helpers of the delivery pipeline tests: data in bulk, a scripted provider, waiting.

The scripted provider is a real Provider implementation (the seam every provider plugs into):
each address can be given a script of outcomes, and every call is recorded in Redis so that
forked work horses and other processes report back to the test.
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from core.appointments.models import Appointment
from core.clients.models import Client
from core.extensions import db
from core.jobs import redis
from core.messaging.models import Broadcast, Message, MessageEvent
from core.providers.base import (
    PermanentError,
    SendResult,
    TransientError,
    UnknownOutcomeError,
)

SENDS = "test:scripted:sends"


def now() -> datetime:
    return datetime.now(UTC)


def bulk_appointments(count: int, **client_values) -> list[int]:
    """`count` clients with one appointment each, inserted in bulk; returns appointment ids."""
    start = now().replace(microsecond=0) + timedelta(days=1)
    base = db.session.scalar(select(func.count()).select_from(Client)) or 0
    clients = [{"first_name": f"Client{base + n}", "last_name": "Test",
                "mobile": f"+1202555{base + n:04d}", "email": f"client{base + n}@example.com",
                "timezone": "America/New_York", **client_values} for n in range(1, count + 1)]
    client_ids = db.session.execute(
        insert(Client.__table__).returning(Client.__table__.c.id, sort_by_parameter_order=True),
        clients,
    ).scalars().all()
    appointment_ids = db.session.execute(
        insert(Appointment.__table__).returning(Appointment.__table__.c.id,
                                                sort_by_parameter_order=True),
        [{"client_id": c, "start_at": start, "end_at": start + timedelta(hours=1),
          "title": "Check-up", "staff": "Dr. Lee", "location": "Main office"}
         for c in client_ids],
    ).scalars().all()
    db.session.commit()
    return list(appointment_ids)


def make_broadcast(appointment_ids=None, *, channel="sms", body="Hello {{ first_name }}",
                   send_at=None, status=None, **recipients) -> Broadcast:
    """A committed Broadcast to the clients of `appointment_ids` (or another recipients spec)."""
    spec = {"appointment_ids": list(appointment_ids)} if appointment_ids is not None else recipients
    broadcast = Broadcast(channel=channel, subject="Notice" if channel == "email" else "",
                          body=body, recipients=spec, send_at=send_at or now(),
                          status=status or ("scheduled" if send_at and send_at > now() else
                                            "pending"))
    db.session.add(broadcast)
    db.session.commit()
    return broadcast


def statuses(broadcast_id: int | None = None) -> dict[str, int]:
    """How many messages are in each status."""
    query = select(Message.status, func.count()).group_by(Message.status)
    if broadcast_id is not None:
        query = query.where(Message.broadcast_id == broadcast_id)
    db.session.commit()
    return dict(db.session.execute(query).all())


def events_of(message_id: int) -> list[tuple[str, str, str]]:
    """The (status, code, detail) history of one message, oldest first, as its page shows it
    (the fan-out's "Queued" comes from the row, the rest from its events)."""
    from core.messaging.queries import history

    db.session.commit()
    events = db.session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id)
                                .order_by(MessageEvent.id)).all()
    return [(e.status, e.code, e.detail)
            for e in history(db.session.get(Message, message_id), list(events))]


def wait_for(predicate, timeout: float = 20.0, step=None, interval: float = 0.2):
    """Call `step` (e.g. a burst worker) until `predicate()` holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if step is not None:
            step()
        db.session.commit()
        db.session.expire_all()
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


# ---- a provider whose behaviour each test scripts -----------------------------------------------


class ScriptedProvider:
    """Sends nothing anywhere; answers from a per-address script kept in Redis."""

    name = "scripted"

    def send(self, message):
        """Follow the next scripted outcome for this address ("ok" when none is left)."""
        arrived = time.time()  # when the provider would see the request
        step = redis().lpop(f"test:script:{message.to}")
        outcome = step.decode() if step else "ok"
        if outcome == "crash":
            os._exit(1)  # the work horse dies between the claim and the record
        if outcome == "transient":
            raise TransientError("Throttled by the provider", "429")
        if outcome == "permanent":
            raise PermanentError("Invalid destination number", "3")
        if outcome == "slow":  # a provider that takes 0.3 s to answer
            time.sleep(0.3)
        attempt = redis().incr(f"test:attempt:{message.message_id}")
        provider_id = f"scripted-{message.message_id}-{attempt}"
        redis().rpush(SENDS, json.dumps({"id": message.message_id, "to": message.to,
                                         "t": arrived, "answered": time.time(),
                                         "provider_id": provider_id}))
        if outcome == "unknown":
            raise UnknownOutcomeError("Read timed out", "timeout")
        parts = int(outcome[5:]) if outcome.startswith("parts") else 1
        part_ids = tuple(f"{provider_id}-p{n}" for n in range(1, parts + 1)) if parts > 1 else ()
        return SendResult(provider_id=part_ids[0] if part_ids else provider_id, segments=parts,
                          cost=Decimal("0.0079") * parts, code="0", parts=part_ids)


def script(address: str, *outcomes: str) -> None:
    """Queue outcomes for the next sends to `address`."""
    redis().rpush(f"test:script:{address}", *outcomes)


def scripted_sends() -> list[dict]:
    """Every message the scripted provider accepted (or may have), in order."""
    return [json.loads(raw) for raw in redis().lrange(SENDS, 0, -1)]


def message_ids(broadcast_id: int) -> list[int]:
    db.session.commit()
    return list(db.session.scalars(
        select(Message.id).where(Message.broadcast_id == broadcast_id).order_by(Message.id)))


def only_message(broadcast_id: int) -> Message:
    db.session.commit()
    db.session.expire_all()
    return db.session.scalars(select(Message).where(Message.broadcast_id == broadcast_id)).one()

