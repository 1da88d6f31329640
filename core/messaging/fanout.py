"""Fan-out: turn one broadcast into Message rows (bulk inserts in chunks) and delivery jobs.

Resumable: when a fan-out dies half-way, the sweeper starts it again and it skips the
recipients whose messages already exist (same client, appointment, channel and address).
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import islice
from typing import NamedTuple

from sqlalchemy import func, select, update

from core.bulk import insert_rows
from core.extensions import db
from core.messaging.models import Broadcast, BroadcastStatus, Direction, MessageEvent, Status
from core.messaging.pipeline import (
    CHUNK,
    claim_broadcast,
    enqueue_delivery,
    finish_broadcasts,
    trigger_time,
)
from core.messaging.transitions import (
    BROADCASTS,
    MESSAGES,
    audit_row,
    label,
    lease,
    write_audits,
)
from core.types import utcnow

log = logging.getLogger(__name__)

INSERT_CHUNK = 2000  # rows per transaction (and per statement on PostgreSQL)
EVENTS = MessageEvent.__table__
STALE_AFTER = timedelta(minutes=5)  # a fan-out silent this long is taken over


class Batches:
    """Queued message ids grouped by the second they fall due; full chunks go out at once."""

    def __init__(self):
        self.ids: dict[datetime | None, list[int]] = defaultdict(list)

    def add(self, message_id: int, send_at: datetime | None) -> None:
        key = self.due_key(send_at)
        self.ids[key].append(message_id)
        if len(self.ids[key]) >= CHUNK:
            enqueue_delivery(self.ids.pop(key), at=key)

    def due_key(self, send_at: datetime | None) -> datetime | None:
        """None for "now", else the second send_at falls due (a job never runs too early)."""
        if send_at is None or send_at <= utcnow():
            return None
        return trigger_time(send_at)

    def flush(self) -> None:
        """Enqueue every partly filled chunk."""
        for at in list(self.ids):
            enqueue_delivery(self.ids.pop(at), at=at)


def fan_out(broadcast_id: int) -> int:
    """Create the broadcast's messages and enqueue their delivery; returns how many were made."""
    now = utcnow()
    if not claim_broadcast(broadcast_id, now, STALE_AFTER):
        log.info("broadcast %s is not due, cancelled or already fanned out", broadcast_id)
        return 0
    from core.messaging.recipients import plan  # compose's; imports the template engine

    broadcast = db.session.get(Broadcast, broadcast_id)
    seen = _existing_keys(broadcast_id)
    batches, created = Batches(), 0
    planned = plan(broadcast)
    if (broadcast.options or {}).get("secure"):  # notices with links instead of the content
        from core.secure.operations import secure_plan

        planned = secure_plan(broadcast)
    while chunk := list(islice(planned, INSERT_CHUNK)):
        if _cancelled(broadcast_id):
            break
        fresh = [p for p in chunk if _key(p) not in seen]
        for message_id, send_at in _insert(broadcast_id, fresh):
            batches.add(message_id, send_at)
        created += len(fresh)
        db.session.execute(update(BROADCASTS).where(BROADCASTS.c.id == broadcast_id)
                           .values(claimed_at=utcnow()))  # still alive: nobody takes over
        db.session.commit()
    batches.flush()
    _finish(broadcast_id)
    log.info("broadcast %s fanned out: %d messages", broadcast_id, created)
    return created


def _key(p) -> tuple:
    return (p.client_id, p.appointment_id, p.channel, p.to_addr)


def _existing_keys(broadcast_id: int) -> set[tuple]:
    """Recipients that already have a message of this broadcast (a resumed fan-out)."""
    rows = db.session.execute(
        select(MESSAGES.c.client_id, MESSAGES.c.appointment_id, MESSAGES.c.channel,
               MESSAGES.c.to_addr).where(MESSAGES.c.broadcast_id == broadcast_id)
    ).all()
    return {tuple(row) for row in rows}


def _cancelled(broadcast_id: int) -> bool:
    status = db.session.scalar(select(BROADCASTS.c.status).where(BROADCASTS.c.id == broadcast_id))
    return status == BroadcastStatus.CANCELLED


def _insert(broadcast_id: int, planned: list) -> list[tuple[int, datetime | None]]:
    """Bulk-insert one chunk with its events (one statement each); returns the queued
    (id, send_at) in id order."""
    if not planned:
        return []
    now, hold = utcnow(), lease()
    rows = [_row(broadcast_id, p, now, hold) for p in planned]
    ids = insert_rows(MESSAGES, rows, with_ids=True)
    made = list(zip(ids, rows, strict=True))
    insert_rows(EVENTS, [{"message_id": i, "status": r["status"], "at": now, "code": "",
                          "detail": r["reason"] or "Queued"} for i, r in made])
    write_audits([
        audit_row("message.skipped",
                  f"{label(p.channel)} to {p.to_addr or 'nobody'} not sent: {r['reason']}",
                  _Ref(i, p.client_id, p.appointment_id))
        for i, p, r in zip(ids, planned, rows, strict=True) if r["status"] == Status.SKIPPED
    ])
    return sorted((i, r["send_at"]) for i, r in made if r["status"] == Status.QUEUED)


class _Ref(NamedTuple):
    """What an audit row needs of a message."""

    id: int
    client_id: int | None
    appointment_id: int | None


def _row(broadcast_id: int, p, now: datetime, hold: timedelta) -> dict:
    """The Message row of one planned recipient; the fan-out holds it until its job exists."""
    status = Status.SKIPPED if p.skip_reason else Status.QUEUED
    send_at = p.send_at or now
    return {
        "broadcast_id": broadcast_id, "client_id": p.client_id, "appointment_id": p.appointment_id,
        "direction": Direction.OUT, "channel": p.channel, "to_addr": (p.to_addr or "")[:254],
        "subject": (p.subject or "")[:200], "body": p.body or "", "status": status,
        "reason": (p.skip_reason or "")[:300], "send_at": send_at, "created_at": now,
        "held_until": max(now, send_at) + hold if status == Status.QUEUED else None,
    }


def _finish(broadcast_id: int) -> None:
    """Record the total and that every message exists; an all-skipped broadcast is done now."""
    total = db.session.scalar(
        select(func.count()).select_from(MESSAGES).where(MESSAGES.c.broadcast_id == broadcast_id)
    )
    db.session.execute(update(BROADCASTS).where(BROADCASTS.c.id == broadcast_id)
                       .values(total=total, fanned_out_at=utcnow()))
    db.session.commit()
    finish_broadcasts([broadcast_id])
