"""Status changes of outgoing messages, each committed with its MessageEvent (and audit).

Every change is one short conditional UPDATE (`... WHERE status = <expected>`), so two jobs,
a receipt and the sweeper can race on a message and only one of them wins. A message is
claimed (queued → sending) in its own commit before the provider is called, so a crash
between claim and record leaves it in "sending", which the sweeper turns into "reconcile":
it is never re-sent blindly.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, exists, insert, or_, update

from core.audit.models import AuditEvent
from core.audit.operations import record
from core.extensions import db
from core.messaging.models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    Message,
    MessageEvent,
    MessagePart,
    Status,
)
from core.providers.base import SendResult, TransientError
from core.types import UTCDateTime, utcnow

MESSAGES = Message.__table__
BROADCASTS = Broadcast.__table__
# Seconds to wait before attempts 2, 3, 4 and 5, then give up (app.config
# DELIVERY_BACKOFF_SECONDS overrides it).
BACKOFF = (10, 30, 120, 600)
TEXTS = (Channel.SMS, Channel.MMS)
LABELS = {"sms": "Text", "mms": "Picture message", "email": "Email", "voice": "Voice call"}
RECONCILE_REASON = "Outcome unknown: waiting for the delivery receipt"


@dataclass(frozen=True)
class Due:
    """What delivery needs of one queued message."""

    id: int
    broadcast_id: int | None
    client_id: int | None
    appointment_id: int | None
    channel: str
    to_addr: str
    from_addr: str
    subject: str
    body: str
    attempts: int
    opted_out: bool | None
    queued_at: datetime | None = None  # when it became due (send_at, else created_at)


def lease() -> timedelta:
    """How long a job holds a queued message before the sweeper may re-enqueue it."""
    return timedelta(seconds=current_app.config.get("DELIVERY_LEASE_SECONDS", 600))


def running_lease() -> timedelta:
    """How long a running delivery job holds its messages; its heartbeat renews the hold."""
    seconds = current_app.config.get("DELIVERY_RUNNING_LEASE_SECONDS", 30)
    return timedelta(seconds=min(seconds, lease().total_seconds()))


def is_due(now: datetime):
    """SQL: the message's send time and its next retry time have come."""
    return and_(
        or_(MESSAGES.c.send_at.is_(None), MESSAGES.c.send_at <= now),
        or_(MESSAGES.c.next_attempt_at.is_(None), MESSAGES.c.next_attempt_at <= now),
    )


def not_cancelled():
    """SQL: the message's broadcast (if any) has not been cancelled."""
    return ~exists().where(
        BROADCASTS.c.id == MESSAGES.c.broadcast_id,
        BROADCASTS.c.status == BroadcastStatus.CANCELLED,
    )


# ---- events and audit, written with the status change they describe ---------------------------


def write_events(rows: list[dict], at: datetime | None = None) -> None:
    """Insert MessageEvents (message_id, status, code, detail) in one executemany."""
    if rows:
        at = at or utcnow()
        db.session.execute(insert(MessageEvent.__table__), [
            {"at": at, "code": "", "detail": "", **row} for row in rows
        ])


def write_audits(rows: list[dict], actor=None) -> None:
    """Insert audit events (action, summary, client_id, appointment_id, message_id) at once."""
    if rows:
        base = {"at": utcnow(), "actor_id": getattr(actor, "id", actor), "data": None}
        db.session.execute(insert(AuditEvent.__table__), [
            {**base, **row, "summary": row["summary"][:500]} for row in rows
        ])


def audit_row(action: str, summary: str, message) -> dict:
    """One audit row about `message` (anything with id, client_id and appointment_id)."""
    return {"action": action, "summary": summary, "client_id": message.client_id,
            "appointment_id": message.appointment_id, "message_id": message.id}


def label(channel: str) -> str:
    return LABELS.get(channel, channel)


# ---- claiming and recording -----------------------------------------------------------------


# The two statements of every send, built once (a statement built per call costs more Python
# time than the database takes to run it).
_NOW = bindparam("now", type_=UTCDateTime())
_CLAIM = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("message_id"), MESSAGES.c.status == Status.QUEUED,
           is_due(_NOW), not_cancelled())
    .values(status=Status.SENDING, attempts=MESSAGES.c.attempts + 1, claimed_at=_NOW,
            provider=bindparam("via"))
)
_RECORD_FACTS = (
    update(MESSAGES).where(MESSAGES.c.id == bindparam("message_id"))
    .values(provider=bindparam("via"), provider_id=bindparam("their_id"),
            segments=bindparam("parts"), cost=bindparam("price"), sent_at=bindparam("at"),
            next_attempt_at=None)
)
IN_FLIGHT = (Status.SENDING, Status.RECONCILE)
_RECORD_SENT = (
    _RECORD_FACTS.where(MESSAGES.c.status.in_(IN_FLIGHT))
    .values(status=Status.SENT.value, reason="").returning(MESSAGES.c.id)
)


def claim(message_id: int, provider: str, now: datetime | None = None) -> bool:
    """Take a queued, due message for sending, in its own commit; False when another job has
    it or it is not due."""
    now = now or utcnow()
    claimed = db.session.execute(
        _CLAIM, {"message_id": message_id, "now": now, "via": provider}).rowcount
    if claimed:
        write_events([{"message_id": message_id, "status": Status.SENDING,
                       "detail": f"Sending through {provider}"}], now)
    db.session.commit()
    return bool(claimed)


def _set_status(message_id: int, status: Status, from_statuses, **values) -> bool:
    """Conditional status change; True when this call made it."""
    return bool(db.session.execute(
        update(MESSAGES)
        .where(MESSAGES.c.id == message_id, MESSAGES.c.status.in_(list(from_statuses)))
        .values(status=status, **values)
    ).rowcount)


@dataclass(frozen=True)
class Sent:
    """A message the provider accepted, waiting to be recorded."""

    due: Due
    provider: str
    result: SendResult
    at: datetime


def record_sent(sent: Sent) -> None:
    """Store what the provider said about an accepted message, and that it went, with its
    event and audit row; the caller commits. A message a receipt has already settled keeps
    its status and only gains the provider's facts."""
    due, result = sent.due, sent.result
    values = {"message_id": due.id, "via": sent.provider, "at": sent.at,
              "their_id": result.provider_id, "parts": result.segments, "price": result.cost}
    if db.session.execute(_RECORD_SENT, values).first():  # a racing receipt waits or wins
        write_events([{"message_id": due.id, "status": Status.SENT, "code": result.code[:40],
                       "detail": f"Accepted by {sent.provider} as {result.provider_id}"[:500]}],
                     sent.at)
        write_audits([audit_row("message.sent", f"{label(due.channel)} sent to {due.to_addr}",
                                due)])
    else:  # already settled by a receipt (or gone): the provider's fields are still facts
        db.session.execute(_RECORD_FACTS, values)
    if len(result.parts) > 1:
        db.session.execute(insert(MessagePart.__table__), [
            {"message_id": due.id, "seq": seq, "provider_id": part, "status": Status.SENT,
             "code": "", "updated_at": sent.at}
            for seq, part in enumerate(result.parts, start=1)
        ])


def record_failed(due: Due, reason: str, code: str = "", from_statuses=(Status.SENDING,)) -> bool:
    """Mark a message failed with the provider's reason."""
    reason = reason or "Failed"
    changed = _set_status(due.id, Status.FAILED, from_statuses, reason=reason[:300],
                          next_attempt_at=None)
    if changed:
        write_events([{"message_id": due.id, "status": Status.FAILED, "code": code[:40],
                       "detail": reason[:500]}])
        record("message.failed", f"{label(due.channel)} to {due.to_addr} failed: {reason}",
               client_id=due.client_id, appointment_id=due.appointment_id, message_id=due.id)
    db.session.commit()
    return changed


def record_retry(due: Due, error: TransientError) -> datetime | None:
    """Put a message back in the queue after a temporary failure; None when we give up."""
    attempts = due.attempts + 1  # the claim counted this attempt
    backoff = current_app.config.get("DELIVERY_BACKOFF_SECONDS") or BACKOFF
    if attempts > len(backoff):
        record_failed(due, f"Gave up after {attempts} attempts: {error.reason}", error.code)
        return None
    delay = max(backoff[attempts - 1], error.retry_after or 0)
    at = utcnow() + timedelta(seconds=delay)
    if _set_status(due.id, Status.QUEUED, (Status.SENDING,), next_attempt_at=at,
                   held_until=at + lease(), claimed_at=None,
                   reason=f"Retrying: {error.reason}"[:300]):
        detail = f"Temporary failure, retry in {delay:.0f} s: {error.reason}"
        write_events([{"message_id": due.id, "status": Status.QUEUED, "code": error.code[:40],
                       "detail": detail[:500]}])
    db.session.commit()
    return at


def record_reconcile(due: Due, detail: str, code: str = "") -> None:
    """The provider may or may not have the message: wait for its receipt, never re-send."""
    if _set_status(due.id, Status.RECONCILE, (Status.SENDING,), reason=RECONCILE_REASON):
        write_events([{"message_id": due.id, "status": Status.RECONCILE, "code": code[:40],
                       "detail": (detail or RECONCILE_REASON)[:500]}])
    db.session.commit()


def skip_opted_out(due: Due) -> None:
    """A client who texted STOP after the fan-out gets no text: skip it at the last moment."""
    reason = "Opted out"
    if _set_status(due.id, Status.SKIPPED, (Status.QUEUED,), reason=reason):
        write_events([{"message_id": due.id, "status": Status.SKIPPED, "detail": reason}])
        record("message.skipped", f"{label(due.channel)} to {due.to_addr} not sent: {reason}",
               client_id=due.client_id, appointment_id=due.appointment_id, message_id=due.id)
    db.session.commit()
