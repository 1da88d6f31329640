"""Fan-out: turn one broadcast into Message rows (bulk inserts in chunks) and delivery jobs.

Resumable: when a fan-out dies half-way, the sweeper starts it again and it skips the
recipients whose messages already exist (same client, appointment, channel and address).

On PostgreSQL a second connection writes (COPY, commit, enqueue) one chunk while this one
plans the next, so Python and the database work at the same time. A message's creation
("Queued", or "Skipped" with its reason) is on its row, not in an event: the message page
reads it from there (core.messaging.queries.history).
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import islice
from typing import NamedTuple

from flask import current_app
from sqlalchemy import func, select, update

from core.bulk import (
    Prepared,
    analyze_after_bulk,
    bound,
    insert_prepared,
    is_postgresql,
    prepare,
)
from core.extensions import db
from core.messaging import signals
from core.messaging.models import Broadcast, BroadcastStatus, Category, Direction, Status
from core.messaging.pipeline import (
    CHUNK,
    claim_broadcast,
    enqueue_delivery,
    finish_broadcasts,
    trigger_time,
)
from core.messaging.recipients import plan
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

INSERT_CHUNK = 10_000  # rows per transaction: one COPY (or executemany) and one commit each
FIRST_CHUNK = 2_000
STALE_AFTER = timedelta(minutes=5)  # a fan-out silent this long is taken over
NAMES = ("broadcast_id", "client_id", "appointment_id", "direction", "channel", "to_addr",
         "subject", "body", "status", "reason", "send_at", "created_at", "held_until",
         "category")
OUT, QUEUED, SKIPPED = Direction.OUT.value, Status.QUEUED.value, Status.SKIPPED.value


class Batches:
    """Queued message ids grouped by the second they fall due; full chunks go out at once."""

    def __init__(self):
        self.ids: dict[datetime | None, list[int]] = defaultdict(list)

    def add(self, ids: list[int], planned: list) -> None:
        """File the ids of the queued messages among `planned` (in the same order)."""
        due: dict[datetime | None, datetime | None] = {}
        for message_id, p in zip(ids, planned, strict=True):
            if p.skip_reason is None:
                if p.send_at not in due:
                    due[p.send_at] = self.due_key(p.send_at)
                self.ids[due[p.send_at]].append(message_id)
        for at, waiting in self.ids.items():
            full = len(waiting) - len(waiting) % CHUNK
            if full:
                enqueue_delivery(waiting[:full], at=at)
                del waiting[:full]

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
    if not claim_broadcast(broadcast_id, utcnow(), STALE_AFTER):
        log.info("broadcast %s is not due, cancelled or already fanned out", broadcast_id)
        return 0
    broadcast = db.session.get(Broadcast, broadcast_id)
    # A feature may plan it instead (a secure send: notices with links, not the content).
    planned = signals.first_answer(signals.broadcast_planning, broadcast)
    writer = Writer(broadcast_id, (broadcast.options or {}).get("category"), broadcast.options)
    created, pending, batches = 0, None, Batches()
    # A feature's plan may add rows to this session (portal rows): they commit with their
    # messages, so its chunks are written on this thread.
    with _submitter(threaded=is_postgresql() and planned is None) as submit:
        for chunk in _chunks(broadcast, planned or plan(broadcast)):
            rows = prepare(MESSAGES, NAMES, writer.rows(chunk), with_ids=True)
            created += _enqueue(batches, pending)
            if writer.cancelled:
                break
            pending = submit(writer.write, rows, chunk)
        created += _enqueue(batches, pending)
    batches.flush()
    _finish(broadcast_id)
    analyze_after_bulk(MESSAGES, created, current_app.config.get("ANALYZE_AFTER_ROWS", 10_000))
    log.info("broadcast %s fanned out: %d messages", broadcast_id, created)
    return created


def _chunks(broadcast: Broadcast, planned: Iterator) -> Iterator[list]:
    """The planned recipients that have no message yet, INSERT_CHUNK at a time."""
    seen = _existing_keys(broadcast.id)
    size = FIRST_CHUNK  # the writer starts sooner; later chunks are planned while it writes
    while chunk := list(islice(planned, size)):
        yield [p for p in chunk if _key(p) not in seen] if seen else chunk
        size = INSERT_CHUNK


def _enqueue(batches: Batches, written: Future | None) -> int:
    """Enqueue the delivery of a chunk once it is committed (here, while the writer goes on
    with the next one); returns how many messages it wrote."""
    if written is None:
        return 0
    ids, planned = written.result()
    batches.add(ids, planned)
    return len(ids)


@contextmanager
def _submitter(threaded: bool):
    """submit(fn, *args) -> Future: on a writer thread with its own app context (and so its own
    session and connection), or at once on this one (SQLite has a single writer anyway)."""
    if not threaded:
        yield _at_once
        return
    app = current_app._get_current_object()
    with ThreadPoolExecutor(1, thread_name_prefix="fan-out-writer") as pool:
        yield lambda fn, *args: pool.submit(_in_context, app, fn, *args)


def _at_once(fn: Callable, *args) -> Future:
    future: Future = Future()
    future.set_result(fn(*args))
    return future


def _in_context(app, fn: Callable, *args):
    with app.app_context():
        return fn(*args)


class Writer:
    """Writes one fan-out's chunks, each in its own transaction."""

    def __init__(self, broadcast_id: int, category: str | None = None,
                 options: dict | None = None):
        self.broadcast_id = broadcast_id
        self.options = dict(options or {})
        self.category = Category(category or Category.TRANSACTIONAL).value
        self.cancelled = False
        self.hold = lease()

    def rows(self, planned: list) -> list[tuple]:
        """The Message rows (NAMES) of planned recipients; each queued one is held until its
        job exists."""
        now = utcnow()
        created, bid, rows = self._at(now), self.broadcast_id, []
        last = sent = held_until = None
        for p in planned:
            if p.send_at is not last:  # one send time for the whole broadcast, as a rule
                last, send_at = p.send_at, p.send_at or now
                sent, held_until = self._at(send_at), self._at(max(now, send_at) + self.hold)
            if p.skip_reason:
                status, reason, held = SKIPPED, p.skip_reason[:300], None
            else:
                status, reason, held = QUEUED, "", held_until
            rows.append((bid, p.client_id, p.appointment_id, OUT, p.channel,
                         (p.to_addr or "")[:254], (p.subject or "")[:200], p.body or "",
                         status, reason, sent, created, held, self.category))
        return rows

    def _at(self, moment: datetime):
        """A datetime in the stored form."""
        return bound(MESSAGES, "send_at", moment)

    def write(self, rows: Prepared, planned: list) -> tuple[list[int], list]:
        """Insert one chunk with the audits of its skips and commit; returns the new ids and
        the planned recipients they belong to."""
        if not rows.count:
            return [], []
        if _cancelled(self.broadcast_id):
            self.cancelled = True
            return [], []
        ids = insert_prepared(rows)
        # Lock the broadcast's row before features vet the chunk: a change that cancels
        # this broadcast's messages (a reschedule) then either commits before the vetting
        # reads, or waits for this commit and cancels these rows too.
        db.session.execute(update(BROADCASTS).where(BROADCASTS.c.id == self.broadcast_id)
                           .values(claimed_at=utcnow()))  # still alive: nobody takes over
        planned = self._vetted(ids, planned)
        write_audits([
            audit_row("message.skipped",
                      f"{label(p.channel)} to {p.to_addr or 'nobody'} not sent: "
                      f"{p.skip_reason[:300]}", _Ref(i, p.client_id, p.appointment_id))
            for i, p in zip(ids, planned, strict=True) if p.skip_reason
        ])
        db.session.commit()
        return ids, planned

    def _vetted(self, ids: list[int], planned: list) -> list:
        """`planned`, with the messages a feature vetoes (signals.messages_vetting) skipped
        with its reason, in the database too."""
        if not signals.messages_vetting.receivers:
            return planned
        appointment_ids = sorted({p.appointment_id for p in planned
                                  if p.skip_reason is None and p.appointment_id is not None})
        if not appointment_ids:
            return planned
        vetoed: dict[int, str] = {}
        for answer in signals.answers(signals.messages_vetting, self.broadcast_id,
                                      options=self.options, appointment_ids=appointment_ids):
            vetoed.update(answer)
        if not vetoed:
            return planned
        result, skipped = [], {}
        for message_id, p in zip(ids, planned, strict=True):
            reason = vetoed.get(p.appointment_id) if p.skip_reason is None else None
            if reason:
                p = replace(p, skip_reason=reason)
                skipped.setdefault(reason, []).append(message_id)
            result.append(p)
        for reason, message_ids in skipped.items():
            db.session.execute(update(MESSAGES).where(MESSAGES.c.id.in_(message_ids))
                               .values(status=SKIPPED, reason=reason[:300], held_until=None))
        return result


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


class _Ref(NamedTuple):
    """What an audit row needs of a message."""

    id: int
    client_id: int | None
    appointment_id: int | None


def _finish(broadcast_id: int) -> None:
    """Record the total and that every message exists; an all-skipped broadcast is done now."""
    total = db.session.scalar(
        select(func.count()).select_from(MESSAGES).where(MESSAGES.c.broadcast_id == broadcast_id)
    )
    db.session.execute(update(BROADCASTS).where(BROADCASTS.c.id == broadcast_id)
                       .values(total=total, fanned_out_at=utcnow()))
    db.session.commit()
    finish_broadcasts([broadcast_id])
