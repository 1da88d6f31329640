"""The sweeper: re-arms what Redis lost or a dead worker left behind. Idempotent; runs every 30 s.

The rules (the database is the truth, Redis only the trigger):
- a queued message that is due and no job holds (held_until has passed, or was never set)
  is enqueued again; jobs hold their messages for DELIVERY_LEASE_SECONDS and renew the hold
  while they work, so a live job is never doubled, and a lost one is re-armed after the lease;
- a delivery or fan-out job whose worker died (RQ's StartedJobRegistry names a worker gone
  silent, core/ops/recovery.py) lets go at once: its queued messages' hold and its broadcast's
  claim are dropped, so the rules below hand them out again in this very sweep;
- a message a sender claimed but never sent, because the database connection broke as the
  claim was written (the sender noted it in Redis), is queued again (ledger.py);
- a message "sending" for longer than SENDING_LEASE was caught mid-send by a dying worker:
  it goes to "reconcile" (never re-sent blindly; its delivery receipt settles it);
- a message in "reconcile" with no receipt after RECONCILE_WINDOW is failed ("No delivery
  receipt");
- a broadcast due for more than TRIGGER_GRACE that never started (its trigger was lost), or
  whose fan-out went silent, gets a new fan-out job (the fan-out's claim makes doubles harmless);
- queued messages of cancelled broadcasts are cancelled; finished broadcasts are marked sent;
- stored inbound messages whose drain trigger was lost (queued past GRACE with no drain
  holding them, or held past HOLD by a dead drain) get a new drain job (inbound_drain.rearm);
- parts of a long inbound text still waiting for the rest after multipart.PARTIAL_AFTER are
  stored as a partial message (multipart.expire_waiting);
- inbound MMS whose pictures were never copied (the job was lost) get a new job
  (vonage_media.rearm).
"""

import logging
from datetime import datetime, timedelta

from redis.exceptions import LockError
from sqlalchemy import and_, func, or_, select, update

from core.extensions import db
from core.jobs import QUEUES, queue, redis
from core.messaging import signals
from core.messaging.fanout import STALE_AFTER
from core.messaging.ledger import release_unsent_claims
from core.messaging.models import BroadcastStatus, Direction, Status
from core.messaging.multipart import expire_waiting
from core.messaging.pipeline import (
    DELIVER,
    FAN_OUT,
    FAN_OUT_TIMEOUT,
    OPEN,
    cancel_messages,
    enqueue_delivery,
    finish_broadcasts,
)
from core.messaging.receipts import NO_RECEIPT
from core.messaging.transitions import (
    BROADCASTS,
    MESSAGES,
    audit_row,
    is_due,
    label,
    lease,
    not_cancelled,
    write_audits,
    write_events,
)
from core.ops.health import note_sweep
from core.ops.recovery import abandoned_jobs
from core.types import utcnow

log = logging.getLogger(__name__)

SENDING_LEASE = timedelta(minutes=5)  # far above any provider timeout
RECONCILE_WINDOW = timedelta(hours=24)
TRIGGER_GRACE = timedelta(seconds=10)  # a lost trigger costs at most this + one sweep interval
BATCH = 5000  # messages re-armed per sweep; the next sweep takes the rest
LOCK = "tidings:sweeper"


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Run every rule once (`now` lets tests look into the future); returns what it did."""
    now = now or utcnow()
    lock = redis().lock(LOCK, timeout=300)
    if not lock.acquire(blocking=False):
        log.info("another sweep is running")
        return {}
    try:
        done = {
            "abandoned": _take_back_abandoned(),
            "cancelled": _cancel_orphans(),
            "unsent_claims": release_unsent_claims(),
            "reconcile": _stuck_sending(now),
            "no_receipt": _unconfirmed(now),
            "requeued": _requeue_due(now),
            "fan_outs": _restart_broadcasts(now),
            "finished": finish_broadcasts(),
            "inbound": _rearm_inbound(now),
            "partial_texts": expire_waiting(now),
            "mms_media": _rearm_media(now),
        }
        note_sweep()
        for counts in signals.answers(signals.sweeping, now):  # the features' own re-arming
            done.update(counts)
    finally:
        try:
            lock.release()
        except LockError:
            pass
    if any(done.values()):
        log.info("sweep: %s", done)
    return done


def _take_back_abandoned() -> int:
    """Drop the holds and claims of delivery and fan-out jobs whose worker died."""
    jobs = abandoned_jobs(redis(), [queue(name) for name in QUEUES])
    for job in jobs:
        if job.func_name == DELIVER and job.args:
            db.session.execute(
                update(MESSAGES)
                .where(MESSAGES.c.id.in_(list(job.args[0])), MESSAGES.c.status == Status.QUEUED)
                .values(held_until=None))
        elif job.func_name == FAN_OUT and job.args:
            db.session.execute(
                update(BROADCASTS)
                .where(BROADCASTS.c.id == job.args[0],
                       BROADCASTS.c.status == BroadcastStatus.SENDING,
                       BROADCASTS.c.fanned_out_at.is_(None))
                .values(claimed_at=None))
    db.session.commit()
    return len(jobs)


def _cancel_orphans() -> int:
    """Queued messages of a cancelled broadcast (a fan-out raced the cancel) are cancelled."""
    cancelled = select(BROADCASTS.c.id).where(BROADCASTS.c.status == BroadcastStatus.CANCELLED)
    count = cancel_messages(MESSAGES.c.broadcast_id.in_(cancelled))
    db.session.commit()
    return count


def _since_claim():
    """SQL: when the message's current attempt began (its creation for rows made elsewhere)."""
    return func.coalesce(MESSAGES.c.claimed_at, MESSAGES.c.created_at)


def _stuck_sending(now: datetime) -> int:
    """Messages left in "sending" by a dead worker wait for their receipt in "reconcile"."""
    rows = db.session.execute(
        update(MESSAGES)
        .where(MESSAGES.c.status == Status.SENDING, _since_claim() < now - SENDING_LEASE)
        .values(status=Status.RECONCILE,
                reason="Outcome unknown: waiting for the delivery receipt")
        .returning(MESSAGES.c.id)
    ).scalars().all()
    write_events([{"message_id": i, "status": Status.RECONCILE,
                   "detail": "The worker stopped during the send; not re-sent, "
                             "waiting for the delivery receipt"} for i in rows])
    db.session.commit()
    return len(rows)


def _unconfirmed(now: datetime) -> int:
    """Reconcile messages that never got a receipt are failed."""
    rows = db.session.execute(
        update(MESSAGES)
        .where(MESSAGES.c.status == Status.RECONCILE, _since_claim() < now - RECONCILE_WINDOW)
        .values(status=Status.FAILED, reason=NO_RECEIPT)
        .returning(MESSAGES.c.id, MESSAGES.c.client_id, MESSAGES.c.appointment_id,
                   MESSAGES.c.channel, MESSAGES.c.to_addr)
    ).all()
    hours = RECONCILE_WINDOW.total_seconds() / 3600
    write_events([{"message_id": r.id, "status": Status.FAILED, "code": "no-receipt",
                   "detail": f"{NO_RECEIPT} within {hours:.0f} hours"} for r in rows])
    write_audits([audit_row("message.failed",
                            f"{label(r.channel)} to {r.to_addr} unconfirmed: {NO_RECEIPT}", r)
                  for r in rows])
    db.session.commit()
    return len(rows)


def _requeue_due(now: datetime) -> int:
    """Enqueue due queued messages that no job holds; they are held from now on."""
    ids = db.session.execute(
        select(MESSAGES.c.id)
        .where(MESSAGES.c.status == Status.QUEUED, MESSAGES.c.direction == Direction.OUT,
               is_due(now), not_cancelled(),
               or_(MESSAGES.c.held_until.is_(None), MESSAGES.c.held_until <= now))
        .order_by(MESSAGES.c.id).limit(BATCH)
    ).scalars().all()
    if not ids:
        db.session.commit()
        return 0
    db.session.execute(
        update(MESSAGES).where(MESSAGES.c.id.in_(ids), MESSAGES.c.status == Status.QUEUED)
        .values(held_until=now + lease())
    )
    db.session.commit()  # hold first, then trigger: a crash in between re-arms next lease
    enqueue_delivery(list(ids))
    return len(ids)


def _restart_broadcasts(now: datetime) -> int:
    """New fan-out jobs for broadcasts whose trigger was lost or whose fan-out stalled."""
    lost = and_(BROADCASTS.c.status.in_(list(OPEN)),
                or_(BROADCASTS.c.send_at.is_(None), BROADCASTS.c.send_at <= now - TRIGGER_GRACE),
                BROADCASTS.c.created_at <= now - TRIGGER_GRACE)
    stalled = and_(BROADCASTS.c.status == BroadcastStatus.SENDING,
                   BROADCASTS.c.fanned_out_at.is_(None),
                   or_(BROADCASTS.c.claimed_at.is_(None),
                       BROADCASTS.c.claimed_at < now - STALE_AFTER))
    ids = db.session.execute(select(BROADCASTS.c.id).where(or_(lost, stalled))).scalars().all()
    db.session.commit()
    if ids:
        q = queue("default")
        with redis().pipeline() as pipe:
            for broadcast_id in ids:
                q.enqueue(FAN_OUT, broadcast_id, job_timeout=FAN_OUT_TIMEOUT, pipeline=pipe)
            pipe.execute()
    return len(ids)


def _rearm_inbound(now: datetime) -> int:
    """Inbound messages stored but never drained (Redis lost the trigger, a worker died)."""
    from core.messaging.inbound_drain import rearm

    return rearm(now)


def _rearm_media(now: datetime) -> int:
    """Inbound MMS whose media job Redis lost, while the provider still keeps the files."""
    from core.providers.vonage_media import rearm

    return rearm(now)

