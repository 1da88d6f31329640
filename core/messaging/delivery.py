"""The delivery job: for each message, wait for the shared rate, claim it, send it, record it.

The claim, the send and the record are separate steps on purpose (see transitions.py): the
rate-limit wait happens before the claim, so a message is "sending" only for the moment the
provider call takes, and a worker dying then leaves one message to reconcile, not a batch.
"""

import logging
import time
from collections import defaultdict
from datetime import datetime

from rq.timeouts import JobTimeoutException
from sqlalchemy import select, update

from core.bulk import id_in
from core.clients.models import Client
from core.extensions import db
from core.messaging import ratelimit
from core.messaging.models import Direction, Status
from core.messaging.transitions import (
    MESSAGES,
    TEXTS,
    Due,
    Sent,
    claim,
    is_due,
    lease,
    record_failed,
    record_reconcile,
    record_retry,
    record_sent,
    skip_opted_out,
)
from core.providers import registry
from core.providers.base import (
    Outgoing,
    PermanentError,
    TransientError,
    UnknownOutcomeError,
)
from core.types import utcnow

log = logging.getLogger(__name__)


def load_due(message_ids: list[int], now: datetime) -> list[Due]:
    """The messages among `message_ids` that are queued and due, in id order."""
    rows = db.session.execute(
        select(MESSAGES.c.id, MESSAGES.c.broadcast_id, MESSAGES.c.client_id,
               MESSAGES.c.appointment_id, MESSAGES.c.channel, MESSAGES.c.to_addr,
               MESSAGES.c.from_addr, MESSAGES.c.subject, MESSAGES.c.body, MESSAGES.c.attempts,
               Client.opted_out)
        .outerjoin(Client, Client.id == MESSAGES.c.client_id)
        .where(id_in(MESSAGES.c.id, message_ids), MESSAGES.c.status == Status.QUEUED,
               MESSAGES.c.direction == Direction.OUT, is_due(now))
        .order_by(MESSAGES.c.id)
    ).all()
    db.session.commit()
    return [Due(*row) for row in rows]


class Holder:
    """Keeps a job's remaining messages held (held_until in the future) while it works."""

    def __init__(self, ids: list[int]):
        self.ids = list(ids)
        self.every = lease().total_seconds() / 4
        self.last = 0.0

    def refresh(self, done: int = 0) -> None:
        """Extend the hold on the messages not yet handled, at most every quarter lease."""
        if time.monotonic() - self.last < self.every:
            return
        remaining = self.ids[done:]
        if remaining:
            db.session.execute(
                update(MESSAGES)
                .where(id_in(MESSAGES.c.id, remaining), MESSAGES.c.status == Status.QUEUED)
                .values(held_until=utcnow() + lease())
            )
            db.session.commit()
        self.last = time.monotonic()


class Recorder:
    """What the provider said about the message just sent, written in the transaction of the
    next claim (one commit per message instead of two), before a nap, and at the end.

    Every send is still preceded by the commit of its own claim, and that commit carries the
    previous message's record: a worker killed mid-send leaves exactly one message to
    reconcile, as when each record had its own commit."""

    def __init__(self):
        self.pending: Sent | None = None

    def add(self, sent: Sent) -> None:
        self.pending = sent

    def write(self) -> None:
        """Write what is pending into the current transaction; the caller commits."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            record_sent(pending)

    def flush(self) -> None:
        self.write()
        db.session.commit()


class Attachments:
    """Media URLs per broadcast, looked up once per job."""

    def __init__(self):
        self.cache: dict[int, tuple[tuple[str, ...], str]] = {}

    def __call__(self, broadcast_id: int | None) -> tuple[tuple[str, ...], str]:
        if broadcast_id is None:
            return (), ""
        if broadcast_id not in self.cache:
            try:
                from core.messaging.attachments import urls_for_broadcast
            except ImportError:
                self.cache[broadcast_id] = ((), "")
            else:
                self.cache[broadcast_id] = urls_for_broadcast(broadcast_id)
        return self.cache[broadcast_id]


def outgoing(due: Due, attachments: Attachments) -> Outgoing:
    """The provider's view of one message; our id is its client reference."""
    media, audio = attachments(due.broadcast_id)
    subject, body = due.subject, due.body
    if "/s/" in body:  # maybe a secure notice: its link token is minted now, never stored
        from core.secure.operations import mint_link

        subject, body = mint_link(due)
    return Outgoing(message_id=due.id, channel=due.channel, to=due.to_addr, body=body,
                    subject=subject, sender=due.from_addr, media_urls=tuple(media),
                    audio_url=audio)


def send_one(due: Due, providers: dict, attachments: Attachments,
             recorder: "Recorder") -> tuple[str, datetime | None]:
    """Deliver one message; returns the outcome and, for a retry, when it is due again."""
    if due.opted_out and due.channel in TEXTS:
        skip_opted_out(due)
        return "skipped", None
    provider = providers.get(due.channel) or registry.get_provider(due.channel)
    providers[due.channel] = provider
    wait = ratelimit.reserve(provider.name)  # our slot; wait for it while nothing is claimed
    if wait > 0:
        recorder.flush()  # what went is recorded now, not after the nap
        time.sleep(wait)
    recorder.write()  # the previous message's record, committed by the claim
    if not claim(due.id, provider.name):
        return "taken", None
    try:
        message = outgoing(due, attachments)
        ratelimit.admit(provider.name)
        result = provider.send(message)
    except TransientError as exc:
        db.session.rollback()
        at = record_retry(due, exc)
        return ("retry", at) if at else ("failed", None)
    except PermanentError as exc:
        db.session.rollback()
        record_failed(due, exc.reason, exc.code)
        return "failed", None
    except UnknownOutcomeError as exc:
        db.session.rollback()
        record_reconcile(due, exc.reason, exc.code)
        return "reconcile", None
    except JobTimeoutException:
        db.session.rollback()
        record_reconcile(due, "The job timed out during the send")
        raise
    except Exception as exc:  # noqa: BLE001 - a provider bug: whether it sent is unknown
        log.exception("provider %s crashed on message %s", provider.name, due.id)
        db.session.rollback()
        record_reconcile(due, f"Provider error: {exc}")
        return "reconcile", None
    recorder.add(Sent(due, provider.name, result, utcnow()))
    return "sent", None


def deliver(message_ids: list[int]) -> dict[str, int]:
    """Send every message of `message_ids` that is still queued and due; count the outcomes."""
    from core.messaging.pipeline import enqueue_delivery, finish_broadcasts, trigger_time

    due = load_due(message_ids, utcnow())
    holder, providers, attachments = Holder([d.id for d in due]), {}, Attachments()
    recorder = Recorder()
    outcomes: dict[str, int] = defaultdict(int)
    retries: dict[datetime, list[int]] = defaultdict(list)
    try:
        for done, message in enumerate(due):
            holder.refresh(done)
            outcome, at = send_one(message, providers, attachments, recorder)
            outcomes[outcome] += 1
            if at is not None:
                retries[trigger_time(at)].append(message.id)
    finally:
        recorder.flush()
        for at, ids in retries.items():
            enqueue_delivery(ids, at=at)
        finish_broadcasts({d.broadcast_id for d in due if d.broadcast_id is not None})
    log.info("delivered %d of %d messages: %s", outcomes["sent"], len(message_ids),
             dict(outcomes))
    return dict(outcomes)
