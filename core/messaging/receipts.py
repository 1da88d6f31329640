"""Delivery receipts: settle a message (or one part of a long SMS) from the provider's report.

Idempotent: a replayed receipt finds the status already set and changes nothing. A message
of several parts is delivered when every part is, failed as soon as one part fails. A receipt
for a message in "reconcile" (the send's outcome was unknown) settles it; such a message may
have no provider id yet, so the receipt's client reference (our message id) finds it.

A receipt may also carry the price the provider charged (stored as the message's cost: per
part, summed, for a long SMS), an outcome worth keeping even when the status does not change
("Answered by voicemail"), and the signal that the recipient asked not to receive messages
from this service, which opts the number out as a STOP would (without a confirmation text).
"""

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, exists, func, or_, select, update

from core.audit.operations import record
from core.extensions import db
from core.messaging import signals
from core.messaging.models import Message, MessageEvent, MessagePart, Status
from core.messaging.transitions import MESSAGES, label, write_events
from core.ops.metrics import RECORDER
from core.types import utcnow

log = logging.getLogger(__name__)

PARTS = MessagePart.__table__
NO_RECEIPT = "No delivery receipt"  # reason the sweeper gives; a late receipt may still settle it
STATUS_WORDS = {
    "delivered": Status.DELIVERED, "read": Status.DELIVERED,
    "failed": Status.FAILED, "rejected": Status.FAILED, "undeliverable": Status.FAILED,
    "expired": Status.EXPIRED,
    "sent": Status.SENT, "accepted": Status.SENT, "buffered": Status.SENT,
    "submitted": Status.SENT, "unknown": Status.SENT,
}
FINAL = (Status.DELIVERED, Status.FAILED, Status.EXPIRED)
OPEN = (Status.SENDING, Status.SENT, Status.RECONCILE)


def apply_receipt(*, provider: str, provider_id: str, status: str, code: str = "",
                  detail: str = "", at: datetime | None = None,
                  client_ref: str | int | None = None, cost: Decimal | None = None,
                  outcome: str = "", note: str = "", opted_out: bool = False) -> bool:
    """Apply one receipt and commit; False when no message has this id (or client reference).

    `cost`: the provider's price; `outcome`: how a delivered message was received, kept as its
    reason; `note`: raw detail for the event only; `opted_out`: the recipient refuses messages.
    """
    target = STATUS_WORDS.get(str(status).lower())
    message = _find(provider, str(provider_id), client_ref)
    if message is None:
        db.session.rollback()
        log.info("receipt for unknown %s message %s", provider, provider_id)
        return False
    at = at or utcnow()
    parts = _has_parts(message.id)
    if target is not None:
        if parts:
            target = _apply_to_part(message, str(provider_id), target, code, detail, at, note)
        if target is not None:
            _settle(message, provider, str(provider_id), target, code, detail, at, note)
    if cost is not None:
        _record_cost(message.id, str(provider_id), cost, parts)
    if outcome:
        _record_outcome(message.id, code, outcome, at)
    if opted_out and message.to_addr:
        signals.network_opt_out.send(message, detail=detail)
    db.session.commit()
    RECORDER.flush()  # a no-op unless this receipt counted a delivery
    return True


def _find(provider: str, provider_id: str, client_ref) -> Message | None:
    """The message a receipt is about, locked for this transaction."""
    message_id = db.session.scalar(select(Message.id).where(Message.provider_id == provider_id))
    if message_id is None:
        message_id = db.session.scalar(
            select(PARTS.c.message_id).where(PARTS.c.provider_id == provider_id).limit(1))
    if message_id is None and str(client_ref or "").isdigit():
        in_doubt = or_(Message.status.in_([Status.SENDING, Status.RECONCILE]),
                       and_(Message.status == Status.FAILED, Message.reason == NO_RECEIPT))
        message_id = db.session.scalar(
            select(Message.id).where(Message.id == int(client_ref), in_doubt,
                                     Message.provider_id.is_(None)))
    if message_id is None:
        return None
    # Locked so that receipts for two parts of one message never both miss each other.
    return db.session.scalars(
        select(Message).where(Message.id == message_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _has_parts(message_id: int) -> bool:
    count = select(func.count()).select_from(PARTS).where(PARTS.c.message_id == message_id)
    return bool(db.session.scalar(count))


def _apply_to_part(message, provider_id, target, code, detail, at, note="") -> Status | None:
    """Update one part; returns the message's status as its parts now say, or None."""
    # Write first, read after: on SQLite the write takes the lock, so the read that follows
    # sees every part another receipt settled a moment ago (PostgreSQL: the row lock above).
    changed = db.session.execute(
        update(PARTS)
        .where(PARTS.c.message_id == message.id, PARTS.c.provider_id == provider_id,
               PARTS.c.status != target, PARTS.c.status.not_in(list(FINAL)))
        .values(status=target, code=code[:40], updated_at=at)
    ).rowcount
    if not changed:
        return None
    parts = db.session.execute(
        select(PARTS.c.seq, PARTS.c.provider_id, PARTS.c.status)
        .where(PARTS.c.message_id == message.id).order_by(PARTS.c.seq)
    ).all()
    seq = next(p.seq for p in parts if p.provider_id == provider_id)
    write_events([{"message_id": message.id, "status": target, "code": code[:40],
                   "detail": _with_note(f"Part {seq} of {len(parts)}: {detail or target}", note)}],
                 at)
    statuses = [p.status for p in parts]
    for final in (Status.FAILED, Status.EXPIRED):
        if final in statuses:
            return final
    if all(s == Status.DELIVERED for s in statuses):
        return Status.DELIVERED
    return Status.SENT


def _settle(message: Message, provider, provider_id, target, code, detail, at, note="") -> None:
    """Move the message to `target` when that is progress; write its event and audit."""
    current = message.status
    late = current == Status.FAILED and message.reason == NO_RECEIPT
    if current == target or (current not in OPEN and not late):
        return
    if current == Status.SENT and target == Status.SENT:
        return
    values = {"status": target}
    if not message.provider_id:
        values.update(provider_id=provider_id, provider=provider)
    if message.sent_at is None:
        values["sent_at"] = at
    if target == Status.DELIVERED:
        values.update(delivered_at=at, reason="")
    elif target in (Status.FAILED, Status.EXPIRED):
        values["reason"] = (detail or f"Not delivered ({target}, code {code or '?'})")[:300]
    elif target == Status.SENT:
        values["reason"] = ""
    changed = db.session.execute(
        update(MESSAGES).where(MESSAGES.c.id == message.id, MESSAGES.c.status == current)
        .values(**values)
    ).rowcount
    if not changed:
        return
    if target == Status.DELIVERED and message.sent_at is not None:
        RECORDER.latency("sent_to_delivered", (at - message.sent_at).total_seconds())
    write_events([{"message_id": message.id, "status": target, "code": code[:40],
                   "detail": _with_note(detail or f"Receipt: {target}", note)}], at)
    _audit(message, target, detail)


def _with_note(detail: str, note: str) -> str:
    return (f"{detail} ({note})" if note else detail)[:500]


def _record_cost(message_id: int, provider_id: str, cost: Decimal, parts: bool) -> None:
    """The provider's price is the message's cost; a long SMS costs the sum of its parts."""
    if not parts:
        db.session.execute(update(MESSAGES).where(MESSAGES.c.id == message_id).values(cost=cost))
        return
    db.session.execute(update(PARTS).where(PARTS.c.message_id == message_id,
                                           PARTS.c.provider_id == provider_id).values(cost=cost))
    priced = db.session.execute(
        select(func.count(PARTS.c.cost), func.count(), func.sum(PARTS.c.cost))
        .where(PARTS.c.message_id == message_id)).one()
    if priced[0] == priced[1]:  # every part priced: the sum is the actual cost
        db.session.execute(
            update(MESSAGES).where(MESSAGES.c.id == message_id).values(cost=priced[2]))


def _record_outcome(message_id: int, code: str, outcome: str, at: datetime) -> None:
    """Keep how the message was received (once as an event, and as the reason while it is
    delivered): a call answered by voicemail stays "delivered", but says so."""
    seen = exists().where(MessageEvent.message_id == message_id, MessageEvent.code == code[:40])
    status = db.session.scalar(select(Message.status).where(Message.id == message_id))
    if not db.session.scalar(select(seen)):
        write_events([{"message_id": message_id, "status": status, "code": code[:40],
                       "detail": outcome[:500]}], at)
    db.session.execute(update(MESSAGES).where(MESSAGES.c.id == message_id,
                                              MESSAGES.c.status == Status.DELIVERED)
                       .values(reason=outcome[:300]))


def _audit(message: Message, target: Status, detail: str) -> None:
    what = label(message.channel)
    if target == Status.DELIVERED:
        action, summary = "message.delivered", f"{what} delivered to {message.to_addr}"
    elif target in (Status.FAILED, Status.EXPIRED):
        action = "message.failed"
        summary = f"{what} to {message.to_addr} not delivered: {detail or target}"
    else:
        return
    record(action, summary, client_id=message.client_id,
           appointment_id=message.appointment_id, message_id=message.id)
