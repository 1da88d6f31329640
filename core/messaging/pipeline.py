"""The delivery pipeline's public API: start, cancel and follow a broadcast.

Compose writes a Broadcast and calls start_broadcast(); a fan-out job (now, or at send_at via
RQ's scheduler) creates its Message rows in chunks and enqueues delivery jobs of up to CHUNK
message ids each. The database is the source of truth; Redis only triggers work, and the
sweeper re-arms whatever a Redis flush or a dead worker lost (see sweeper.py).
"""

import logging
import math
from datetime import UTC, datetime, timedelta

from rq import Queue
from sqlalchemy import and_, exists, func, or_, select, update

from core.extensions import db
from core.jobs import queue, redis
from core.messaging.models import Broadcast, BroadcastStatus, Status
from core.messaging.transitions import (
    BROADCASTS,
    MESSAGES,
    audit_row,
    label,
    write_audits,
    write_events,
)
from core.types import utcnow

log = logging.getLogger(__name__)

CHUNK = 500  # message ids per delivery job: 1,000 recipients make 2 jobs
DELIVER = "core.messaging.tasks.deliver"
FAN_OUT = "core.messaging.tasks.fan_out"
DELIVER_TIMEOUT = 1800  # a chunk waits for its share of the provider rate
FAN_OUT_TIMEOUT = 1800
EARLY = timedelta(seconds=1)  # a trigger this early still counts as on time (clock skew)
OPEN = (BroadcastStatus.PENDING, BroadcastStatus.SCHEDULED)
COUNTED = (Status.QUEUED, Status.SENDING, Status.RECONCILE, Status.SENT, Status.DELIVERED,
           Status.FAILED, Status.EXPIRED, Status.SKIPPED, Status.CANCELLED)


# ---- starting and enqueueing ------------------------------------------------------------------


def trigger_time(at: datetime) -> datetime:
    """`at` rounded up to a whole second: RQ's scheduler truncates to seconds, which would
    otherwise fire a job up to a second before its messages are due."""
    return datetime.fromtimestamp(math.ceil(at.timestamp()), UTC)


def start_broadcast(broadcast_id: int):
    """Trigger the fan-out of a committed broadcast: now, or at its send_at. Returns the job.

    Safe to call again after editing the row: a trigger that fires while the broadcast is
    cancelled, already going, or moved later does nothing.
    """
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.status not in OPEN:
        return None
    send_at = broadcast.send_at
    db.session.commit()  # end the read so the worker never waits on this connection
    if send_at is not None and send_at > utcnow():
        job_id = f"fan-out-{broadcast_id}-{int(send_at.timestamp())}"
        log.info("broadcast %s scheduled for %s", broadcast_id, send_at.isoformat())
        return queue("default").enqueue_at(trigger_time(send_at), FAN_OUT, broadcast_id,
                                           job_id=job_id, job_timeout=FAN_OUT_TIMEOUT)
    return queue("default").enqueue(FAN_OUT, broadcast_id, job_timeout=FAN_OUT_TIMEOUT)


def enqueue_delivery(message_ids: list[int], at: datetime | None = None) -> int:
    """Enqueue delivery jobs of up to CHUNK ids each in one Redis round trip; returns the count."""
    chunks = [message_ids[i:i + CHUNK] for i in range(0, len(message_ids), CHUNK)]
    if not chunks:
        return 0
    q = queue("default")
    with redis().pipeline() as pipe:
        if at is None or at <= utcnow():
            q.enqueue_many([
                Queue.prepare_data(DELIVER, args=(chunk,), timeout=DELIVER_TIMEOUT,
                                   description=_describe(chunk))
                for chunk in chunks
            ], pipeline=pipe)
        else:
            for chunk in chunks:
                q.enqueue_at(trigger_time(at), DELIVER, chunk, job_timeout=DELIVER_TIMEOUT,
                             description=_describe(chunk), pipeline=pipe)
        pipe.execute()
    return len(chunks)


def _describe(chunk: list[int]) -> str:
    return f"deliver {len(chunk)} messages ({chunk[0]}..{chunk[-1]})"


# ---- cancelling --------------------------------------------------------------------------------


def cancel_broadcast(broadcast_id: int, actor=None) -> int:
    """Cancel a broadcast and every message of it not yet sent; returns how many were stopped."""
    db.session.execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast_id,
               BROADCASTS.c.status.in_([*OPEN, BroadcastStatus.SENDING]))
        .values(status=BroadcastStatus.CANCELLED)
    )
    stopped = cancel_messages(MESSAGES.c.broadcast_id == broadcast_id, actor=actor)
    db.session.commit()
    log.info("broadcast %s cancelled, %d messages stopped", broadcast_id, stopped)
    return stopped


def cancel_message(message_id: int, actor=None) -> bool:
    """Cancel one message that has not been sent yet; False when it is already on its way."""
    stopped = cancel_messages(MESSAGES.c.id == message_id, actor=actor)
    db.session.commit()
    return bool(stopped)


def cancel_messages(where, actor=None, reason: str = "Cancelled") -> int:
    """Cancel the queued messages matching the SQL condition `where`; the caller commits."""
    rows = db.session.execute(
        update(MESSAGES)
        .where(where, MESSAGES.c.status == Status.QUEUED)
        .values(status=Status.CANCELLED, reason=reason, next_attempt_at=None)
        .returning(MESSAGES.c.id, MESSAGES.c.client_id, MESSAGES.c.appointment_id,
                   MESSAGES.c.channel, MESSAGES.c.to_addr)
    ).all()
    who = f" by {actor.name}" if getattr(actor, "name", None) else ""
    write_events([{"message_id": r.id, "status": Status.CANCELLED, "detail": f"{reason}{who}"}
                  for r in rows])
    write_audits([audit_row("message.cancelled",
                            f"{label(r.channel)} to {r.to_addr} cancelled before it went", r)
                  for r in rows], actor=actor)
    return len(rows)


# ---- following ---------------------------------------------------------------------------------


def progress(broadcast_id: int) -> dict | None:
    """Counts of the broadcast's messages by status, its total and whether it is done."""
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return None
    counts = dict(db.session.execute(
        select(MESSAGES.c.status, func.count())
        .where(MESSAGES.c.broadcast_id == broadcast_id)
        .group_by(MESSAGES.c.status)
    ).all())
    result = {status.value: counts.get(status.value, 0) for status in COUNTED}
    created = sum(counts.values())
    result["total"] = created if broadcast.fanned_out_at or created else broadcast.total
    in_flight = result["queued"] + result["sending"]
    result["done"] = broadcast.status in (BroadcastStatus.SENT, BroadcastStatus.CANCELLED) or (
        broadcast.fanned_out_at is not None and in_flight == 0)
    result["status"] = broadcast.status
    result["send_at"] = broadcast.send_at
    return result


def finish_broadcasts(broadcast_ids=None) -> int:
    """Mark fanned-out broadcasts with nothing left queued or sending as sent."""
    pending = exists().where(
        MESSAGES.c.broadcast_id == BROADCASTS.c.id,
        MESSAGES.c.status.in_([Status.QUEUED, Status.SENDING]),
    )
    where = [BROADCASTS.c.status == BroadcastStatus.SENDING,
             BROADCASTS.c.fanned_out_at.is_not(None), ~pending]
    if broadcast_ids is not None:
        if not broadcast_ids:
            return 0
        where.append(BROADCASTS.c.id.in_(list(broadcast_ids)))
    finished = db.session.execute(
        update(BROADCASTS).where(*where).values(status=BroadcastStatus.SENT)
    ).rowcount
    db.session.commit()
    return finished


def claim_broadcast(broadcast_id: int, now: datetime, stale_after: timedelta) -> bool:
    """Take a due broadcast for fan-out (or one whose fan-out stalled); False otherwise."""
    due = and_(BROADCASTS.c.status.in_(list(OPEN)),
               or_(BROADCASTS.c.send_at.is_(None), BROADCASTS.c.send_at <= now + EARLY))
    stalled = and_(BROADCASTS.c.status == BroadcastStatus.SENDING,
                   BROADCASTS.c.fanned_out_at.is_(None),
                   or_(BROADCASTS.c.claimed_at.is_(None),
                       BROADCASTS.c.claimed_at < now - stale_after))
    claimed = db.session.execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast_id, or_(due, stalled))
        .values(status=BroadcastStatus.SENDING, claimed_at=now)
    ).rowcount
    db.session.commit()
    return bool(claimed)
