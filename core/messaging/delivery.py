"""The delivery job: for each message, wait for the shared rate, claim it, send it, record it.

The claim, the send and the record are separate steps on purpose (see transitions.py): the
rate-limit wait happens before the claim, so a message is "sending" only for the moment the
provider call takes. A job runs DELIVERY_SENDERS senders side by side (threads, each with its
own connection and provider client; one on SQLite), so one message's network wait overlaps
another's database write: a worker dying mid-job leaves at most one message per sender to
reconcile, never a batch.
"""

import logging
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime

from flask import current_app
from rq.timeouts import JobTimeoutException
from sqlalchemy import func, select, update

from core import settings
from core.bulk import id_in, is_postgresql
from core.clients.models import Client
from core.extensions import db
from core.messaging import ratelimit, signals
from core.messaging.ledger import Ledger
from core.messaging.models import Direction, Status
from core.messaging.transitions import (
    MESSAGES,
    TEXTS,
    Due,
    Sent,
    is_due,
    record_failed,
    record_reconcile,
    record_retry,
    running_lease,
    skip_opted_out,
)
from core.ops.metrics import RECORDER
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
               Client.opted_out, func.coalesce(MESSAGES.c.send_at, MESSAGES.c.created_at))
        .outerjoin(Client, Client.id == MESSAGES.c.client_id)
        .where(id_in(MESSAGES.c.id, message_ids), MESSAGES.c.status == Status.QUEUED,
               MESSAGES.c.direction == Direction.OUT, is_due(now))
        .order_by(MESSAGES.c.id)
    ).all()
    db.session.commit()
    return [Due(*row) for row in rows]


class Heartbeat:
    """Holds a running job's due messages for a short lease, renewed from a thread of its own.

    The hold is short (DELIVERY_RUNNING_LEASE_SECONDS) and renewed every third of it whatever
    the senders are doing, so a job killed with its worker lets go of its messages within
    one lease: the next sweep hands them to another job.
    """

    def __init__(self, ids: list[int]):
        self.ids = list(ids)
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def beat(self) -> None:
        """Hold the job's messages that are still queued and due for one more running lease."""
        if self.ids:
            now = utcnow()
            db.session.execute(
                update(MESSAGES)
                .where(id_in(MESSAGES.c.id, self.ids), MESSAGES.c.status == Status.QUEUED,
                       is_due(now))
                .values(held_until=now + running_lease())
            )
            db.session.commit()

    def start(self) -> "Heartbeat":
        """Beat now, then every third of the lease in a thread until stop()."""
        self.beat()
        app = current_app._get_current_object()
        every = running_lease().total_seconds() / 3

        def run() -> None:
            with app.app_context():  # its own session and connection
                while not self.stopped.wait(every):
                    try:
                        self.beat()
                    except Exception:  # noqa: BLE001 - a missed beat only shortens the hold
                        log.warning("delivery heartbeat failed", exc_info=True)
                        db.session.rollback()

        self.thread = threading.Thread(target=run, name="heartbeat", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop beating (the hold then runs out by itself)."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()


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
    # A feature may change the text as it leaves (a secure notice's link is minted now).
    subject, body = signals.first_answer(signals.message_sending, due, subject=due.subject,
                                         body=due.body, default=(due.subject, due.body))
    return Outgoing(message_id=due.id, channel=due.channel, to=due.to_addr, body=body,
                    subject=subject, sender=due.from_addr, media_urls=tuple(media),
                    audio_url=audio)


class Providers:
    """One sender's providers, made once per channel and never shared with another sender,
    each with its pacer for the provider's shared limit; all made from the settings the job
    read once. A provider that can call a hook right before its request leaves gets the
    pacer's admission there."""

    def __init__(self, values: dict):
        self.values = values
        self.made: dict[str, tuple] = {}

    def __call__(self, channel: str):
        if channel not in self.made:
            provider = registry.get_provider(channel, self.values)
            pacer = ratelimit.Pacer(provider.name)
            if hasattr(provider, "before_wire"):
                provider.before_wire = pacer.admit
            self.made[channel] = provider, pacer
        return self.made[channel]


def send_one(due: Due, providers: Providers, attachments: Attachments,
             ledger: Ledger) -> tuple[str, datetime | None]:
    """Deliver one message; returns the outcome and, for a retry, when it is due again."""
    if due.opted_out and due.channel in TEXTS:
        skip_opted_out(due)
        return "skipped", None
    provider, pacer = providers(due.channel)
    wait = pacer.wait_time()  # our slot; wait for it while nothing is claimed
    if wait > 0:
        RECORDER.rate_wait(provider.name, wait)
        ledger.flush()  # what went is recorded now, not after the nap
        time.sleep(wait)
    if not ledger.claim(due.id, provider.name):  # also writes the previous message's record
        return "taken", None
    try:
        message = outgoing(due, attachments)
        if ledger.connection is not None and db.session().in_transaction():
            # the lookups above read through the sender's session: end that read so its
            # connection goes back to the pool (the ledger writes through its own), or each
            # sender held two connections for the whole job
            db.session.commit()
        if not hasattr(provider, "before_wire"):  # else the provider admits at the wire
            pacer.admit()
        result = provider.send(message)
    except TransientError as exc:
        db.session.rollback()
        RECORDER.provider_error(provider.name, "transient", exc.code)
        at = record_retry(due, exc)
        return ("retry", at) if at else ("failed", None)
    except PermanentError as exc:
        db.session.rollback()
        RECORDER.provider_error(provider.name, "permanent", exc.code)
        record_failed(due, exc.reason, exc.code)
        return "failed", None
    except UnknownOutcomeError as exc:
        db.session.rollback()
        RECORDER.provider_error(provider.name, "unknown", exc.code)
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
    sent_at = utcnow()
    ledger.add(Sent(due, provider.name, result, sent_at))
    if due.queued_at is not None:
        RECORDER.latency("queued_to_sent", (sent_at - due.queued_at).total_seconds())
    return "sent", None


class Work:
    """A job's due messages, handed out one at a time to its senders (thread-safe)."""

    def __init__(self, due: list[Due], values: dict):
        self.due, self.values = due, values  # the settings every sender's providers use
        self.taken = 0
        self.stopped = False
        self.lock = threading.Lock()

    def next(self) -> Due | None:
        """The next message nobody has taken, or None when all are taken or we stopped."""
        with self.lock:
            if self.stopped or self.taken >= len(self.due):
                return None
            self.taken += 1
            return self.due[self.taken - 1]

    def stop(self) -> None:
        with self.lock:
            self.stopped = True


class Tally:
    """What one sender did: outcomes counted, retries grouped by when they fall due."""

    def __init__(self):
        self.outcomes: dict[str, int] = defaultdict(int)
        self.retries: dict[datetime, list[int]] = defaultdict(list)

    def add(self, message: Due, outcome: str, at: datetime | None) -> None:
        self.outcomes[outcome] += 1
        if at is not None:
            from core.messaging.pipeline import trigger_time

            self.retries[trigger_time(at)].append(message.id)


def send_all(work: Work, tally: Tally) -> None:
    """One sender: take messages until none are left, each claimed, sent and recorded."""
    providers, attachments, ledger = Providers(work.values), Attachments(), Ledger()
    try:
        while (message := work.next()) is not None:
            tally.add(message, *send_one(message, providers, attachments, ledger))
    finally:
        ledger.close()


def sender_count(due: int) -> int:
    """How many senders a job runs side by side (DELIVERY_SENDERS, at most one per message).

    Each sender is a thread with its own database session and provider client, so one
    message's network wait overlaps another's commit; SQLite has a single writer, so it
    gets one sender."""
    if not is_postgresql():
        return 1
    return max(1, min(int(current_app.config.get("DELIVERY_SENDERS", 3)), due))


def run_senders(work: Work, tallies: list[Tally]) -> None:
    """Run one sender per tally over `work` (in this thread when one)."""
    if len(tallies) == 1:
        send_all(work, tallies[0])
        return
    app = current_app._get_current_object()
    errors: list[BaseException] = []
    # A sender woken by its slot or its socket gets the interpreter within 1 ms instead of
    # 5: the time between the rate limiter's admission and the wire stays short. (The work
    # horse is forked for this one job, so the setting dies with it.)
    sys.setswitchinterval(0.001)

    def sender(tally: Tally) -> None:
        with app.app_context():  # its own session, so its own connection
            try:
                send_all(work, tally)
            except BaseException as exc:  # noqa: BLE001 - re-raised by the job's thread
                errors.append(exc)
                work.stop()

    threads = [threading.Thread(target=sender, args=(t,), name=f"sender-{n}", daemon=True)
               for n, t in enumerate(tallies)]
    for thread in threads:
        thread.start()
    try:
        while alive := [thread for thread in threads if thread.is_alive()]:
            alive[0].join(0.5)
    finally:  # a job timeout lands here: let every sender finish the message it holds
        work.stop()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


def deliver(message_ids: list[int]) -> dict[str, int]:
    """Send every message of `message_ids` that is still queued and due; count the outcomes."""
    from core.messaging.pipeline import enqueue_delivery, finish_broadcasts

    due = load_due(message_ids, utcnow())
    heartbeat, work = Heartbeat([d.id for d in due]).start(), Work(due, settings.snapshot())
    tallies = [Tally() for _ in range(sender_count(len(due)))]
    try:
        run_senders(work, tallies)
    finally:
        heartbeat.stop()
        RECORDER.flush()
        for tally in tallies:
            for at, ids in tally.retries.items():
                enqueue_delivery(ids, at=at)
        finish_broadcasts({d.broadcast_id for d in due if d.broadcast_id is not None})
    outcomes = Counter()
    for tally in tallies:
        outcomes.update(tally.outcomes)
    log.info("delivered %d of %d messages: %s", outcomes["sent"], len(message_ids),
             dict(outcomes))
    return dict(outcomes)
