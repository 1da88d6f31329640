"""The inbound drain: one job handles the queued inbound messages in batches.

A batch is claimed atomically (`UPDATE … WHERE message_id IN (SELECT … FOR UPDATE SKIP
LOCKED)` on PostgreSQL, so parallel drains never share a row; SQLite's single writer makes the
same UPDATE atomic) and held for HOLD. Each message is handled by two-way texting and marked
processed in the same transaction that deletes its queue row and writes its automatic reply;
a batch commits once (a commit per message cost a WAL flush each: the drain's bottleneck),
and its replies go to delivery in one enqueue. A worker killed mid-batch leaves its
rows held: once HOLD has passed the sweeper triggers a drain that takes them again.
"""

import logging
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from core.clients.models import Client
from core.extensions import db
from core.jobs import redis
from core.messaging import signals
from core.messaging.inbound import DRAIN_FLAG, PROCESSED, QUEUE_ROWS, trigger_drain
from core.messaging.models import Message, Status
from core.messaging.transitions import write_events
from core.types import utcnow

log = logging.getLogger(__name__)

BATCH = 100  # messages claimed at once: one claim, one settings read, one delivery enqueue
HOLD = timedelta(minutes=2)  # far above a batch's time; a dead drain's rows wait this long
DRAIN_FOR = 60  # seconds of work per job, then a fresh job takes over (job_timeout is 300)
MAX_ATTEMPTS = 5  # a message that fails this often is marked processed with the error
GRACE = timedelta(seconds=10)  # a queued row this old that no drain holds lost its trigger
ROWS = QUEUE_ROWS.c


def drain_inbound() -> int:
    """Job: handle queued inbound messages, a batch at a time, until none is due."""
    redis().delete(DRAIN_FLAG)  # from here on a newly stored message triggers a new job
    stop_at, done = time.monotonic() + DRAIN_FOR, 0
    while ids := claim(BATCH):
        done += handle_batch(ids)
        if time.monotonic() > stop_at:
            trigger_drain(force=True)  # more may be due: a fresh job, not an endless one
            break
    if done:
        log.info("drained %d inbound message(s)", done)
    return done


def claim(limit: int, now: datetime | None = None) -> list[int]:
    """Hold up to `limit` due queue rows for this job; their message ids, oldest first."""
    now = now or utcnow()
    due = (select(ROWS.message_id)
           .where(or_(ROWS.held_until.is_(None), ROWS.held_until <= now))
           .order_by(ROWS.message_id).limit(limit).with_for_update(skip_locked=True))
    ids = db.session.execute(
        update(QUEUE_ROWS).where(ROWS.message_id.in_(due))
        .values(held_until=now + HOLD, attempts=ROWS.attempts + 1)
        .returning(ROWS.message_id)
    ).scalars().all()
    db.session.commit()
    return sorted(ids)


def handle_batch(ids: list[int]) -> int:
    """Handle the claimed messages in order, in one transaction (one commit, not one per
    message); if one fails, the batch is rolled back and handled one message per commit, so
    only the failing one is left for later. Their replies then go to delivery together."""
    from core.messaging.pipeline import enqueue_delivery

    with _features_batch(), _kept_across_commits():
        messages, _clients = _load(ids)  # held: the session keeps only weak references
        try:
            handled, replies = _together(ids, messages)
        except Exception:  # noqa: BLE001 - whatever failed, the one-by-one pass isolates it
            db.session.rollback()
            log.warning("inbound batch failed; handling it one by one", exc_info=True)
            handled, replies = _one_by_one(ids)
    enqueue_delivery(replies)  # committed and held: the sweeper re-arms them if this is lost
    return handled


@contextmanager
def _features_batch():
    """The context managers the features want around a batch (signals.inbound_batch)."""
    with ExitStack() as stack:
        for manager in signals.answers(signals.inbound_batch):
            stack.enter_context(manager)
        yield


@contextmanager
def _kept_across_commits():
    """The batch's messages and clients, loaded once, stay loaded through the commits that
    STOP, START and appointment answers make (a batch lasts about a second)."""
    session = db.session()
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True
        session.expire_all()


def _load(ids: list[int]) -> tuple[dict[int, Message], list[Client]]:
    """The batch's messages by id, and their clients (two queries for the whole batch)."""
    messages = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids)))}
    client_ids = {m.client_id for m in messages.values() if m.client_id}
    clients = db.session.scalars(select(Client).where(Client.id.in_(client_ids))).all()
    return messages, list(clients)


def _together(ids: list[int], messages: dict[int, Message]) -> tuple[int, list[int]]:
    """Every message of the batch handled and marked, then one commit."""
    replies: list[int] = []
    for message_id in ids:
        replies += _handle(message_id, messages.get(message_id))
    db.session.commit()
    return len(ids), replies


def _one_by_one(ids: list[int]) -> tuple[int, list[int]]:
    """Each message still queued handled in its own commit; a failing one stays held."""
    handled, replies = 0, []
    for message_id in ids:
        try:
            if _still_queued(message_id):  # a STOP's own commit may have taken it already
                replies += _handle(message_id, db.session.get(Message, message_id))
            db.session.commit()
            handled += 1
        except Exception:
            db.session.rollback()
            log.exception("inbound message %d could not be handled", message_id)
            _give_up_if_tried_enough(message_id)
    return handled, replies


def _still_queued(message_id: int) -> bool:
    query = select(ROWS.message_id).where(ROWS.message_id == message_id)
    return db.session.scalar(query) is not None


def _handle(message_id: int, message: Message | None) -> list[int]:
    """The features' handling of one message (signals.inbound_received: two-way texting),
    marked processed and unqueued (the caller commits); the ids of the replies they wrote."""
    details, replies = [], []
    if message is not None:
        for handled in signals.answers(signals.inbound_received, message):
            details.append(handled.detail)
            replies += handled.replies
    _mark(message_id, "; ".join(details), processed=message is not None)
    return replies


def _mark(message_id: int, detail: str, *, processed: bool = True) -> None:
    """Mark the message processed and drop its queue row (the caller commits)."""
    if processed:
        write_events([{"message_id": message_id, "status": Status.RECEIVED, "code": PROCESSED,
                       "detail": detail[:500]}])
    db.session.execute(delete(QUEUE_ROWS).where(ROWS.message_id == message_id))


def _give_up_if_tried_enough(message_id: int) -> None:
    """After MAX_ATTEMPTS failures the message stays in the inbox with no automatic action."""
    attempts = db.session.scalar(select(ROWS.attempts).where(ROWS.message_id == message_id))
    if attempts is not None and attempts >= MAX_ATTEMPTS:
        _mark(message_id, f"Not handled after {attempts} attempts; no automatic action")
    db.session.commit()


def rearm(now: datetime | None = None) -> int:
    """Sweeper: trigger a drain when queued rows wait past GRACE unheld, or past their hold
    (a lost trigger, a killed worker); returns how many wait."""
    now = now or utcnow()
    stale = or_(ROWS.held_until <= now,
                ROWS.held_until.is_(None) & (ROWS.queued_at <= now - GRACE))
    waiting = db.session.scalar(select(func.count()).select_from(QUEUE_ROWS).where(stale))
    db.session.commit()
    if waiting:
        trigger_drain(force=True)
    return waiting
