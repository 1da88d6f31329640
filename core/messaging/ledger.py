"""The claim before each send and the record after it, written by one sender of a delivery job.

On PostgreSQL a sender keeps its own autocommit connection and writes the previous message's
record (sent, provider id, price, event, audit row, parts) and the next message's claim
(queued → sending and its event) in **one statement**: one round trip, one durable commit per
message. Elsewhere (SQLite) the same transitions run as the separate statements of
transitions.py in the session, committed together. Either way a message is claimed durably
before its provider call, so a sender killed mid-send leaves that one message to reconcile.
"""

import logging
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import ARRAY, Connection, Numeric, String, bindparam, text, update
from sqlalchemy.exc import DBAPIError

from core.bulk import is_postgresql
from core.extensions import db
from core.jobs import redis
from core.messaging.models import BroadcastStatus, Status
from core.messaging.transitions import (
    MESSAGES,
    Sent,
    claim,
    label,
    record_sent,
    write_events,
)
from core.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

IN_FLIGHT = f"'{Status.SENDING.value}', '{Status.RECONCILE.value}'"

# :r_id is NULL when there is nothing to record, :id when there is nothing to claim. The two
# UPDATEs of the record are exclusive on the statement's single snapshot: a message a receipt
# already settled only gains the provider's facts (as in transitions.record_sent).
# Every UPDATE finds its row by primary key: the status tests are written `(…) IS TRUE`, which
# no index matches, because on a table without statistics (a first send, or autovacuum late)
# the planner rated `status = 'queued'` on ix_messages_status_send_at as cheap as the key and
# walked every queued message for each claim (0.65 ms at 2,000 queued, growing with the queue).
STEP = text(f"""
WITH rec AS (
  UPDATE messages SET status = '{Status.SENT.value}', reason = '', provider = :r_via,
         provider_id = :r_pid, segments = :r_segments, cost = :r_price, sent_at = :r_at,
         next_attempt_at = NULL
  WHERE id = :r_id AND (status IN ({IN_FLIGHT})) IS TRUE
  RETURNING id, client_id, appointment_id
), facts AS (
  UPDATE messages SET provider = :r_via, provider_id = :r_pid, segments = :r_segments,
         cost = :r_price, sent_at = :r_at, next_attempt_at = NULL
  WHERE id = :r_id AND (status NOT IN ({IN_FLIGHT})) IS TRUE
), rec_event AS (
  INSERT INTO message_events (message_id, at, status, code, detail)
  SELECT id, :r_at, '{Status.SENT.value}', :r_code, :r_detail FROM rec
), rec_audit AS (
  INSERT INTO audit_events (at, actor_id, action, summary, client_id, appointment_id,
                            message_id, data)
  SELECT :r_at, NULL, 'message.sent', :r_summary, client_id, appointment_id, id, NULL FROM rec
), rec_parts AS (
  INSERT INTO message_parts (message_id, seq, provider_id, status, code, updated_at)
  SELECT CAST(:r_id AS bigint), part.seq, part.provider_id, '{Status.SENT.value}', '', :r_at
  FROM unnest(CAST(:r_parts AS varchar[])) WITH ORDINALITY AS part(provider_id, seq)
  WHERE CAST(:r_id AS bigint) IS NOT NULL
), claimed AS (
  UPDATE messages SET status = '{Status.SENDING.value}', attempts = attempts + 1,
         claimed_at = :now, provider = :via
  WHERE id = :id AND (status = '{Status.QUEUED.value}') IS TRUE
    AND (send_at IS NULL OR send_at <= :now)
    AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
    AND NOT EXISTS (SELECT 1 FROM broadcasts
                    WHERE broadcasts.id = messages.broadcast_id
                      AND broadcasts.status = '{BroadcastStatus.CANCELLED.value}')
  RETURNING id
), claim_event AS (
  INSERT INTO message_events (message_id, at, status, code, detail)
  SELECT id, :now, '{Status.SENDING.value}', '', :detail FROM claimed
)
SELECT count(*) FROM claimed
""").bindparams(
    bindparam("now", type_=UTCDateTime()), bindparam("r_at", type_=UTCDateTime()),
    bindparam("r_price", type_=Numeric(10, 5)), bindparam("r_parts", type_=ARRAY(String)),
)

UNSENT_CLAIMS = "tidings:claims:unsent"  # message id -> claimed_at of a claim never sent

NOTHING_TO_RECORD = {"r_id": None, "r_via": "", "r_pid": None, "r_segments": 0, "r_price": None,
                     "r_at": None, "r_code": "", "r_detail": "", "r_summary": "", "r_parts": []}
NOTHING_TO_CLAIM = {"id": None, "now": None, "via": "", "detail": ""}


def record_values(sent: Sent | None) -> dict:
    """The record half of STEP's parameters for `sent` (or for nothing)."""
    if sent is None:
        return NOTHING_TO_RECORD
    due, result = sent.due, sent.result
    return {
        "r_id": due.id, "r_via": sent.provider, "r_pid": result.provider_id,
        "r_segments": result.segments, "r_price": result.cost, "r_at": sent.at,
        "r_code": result.code[:40],
        "r_detail": f"Accepted by {sent.provider} as {result.provider_id}"[:500],
        "r_summary": f"{label(due.channel)} sent to {due.to_addr}"[:500],
        "r_parts": list(result.parts) if len(result.parts) > 1 else [],
    }


def note_unsent_claim(message_id: int, claimed_at: datetime) -> None:
    """Remember (in Redis) a claim whose outcome the database never confirmed and whose
    message never reached a provider, so the sweeper can queue it again (sweeper.py)."""
    try:
        redis().hset(UNSENT_CLAIMS, str(message_id), claimed_at.isoformat())
    except RedisError:  # then the sweeper reconciles it, as any send caught mid-way
        log.warning("could not note the unsent claim of message %s", message_id)


def release_unsent_claims() -> int:
    """Sweeper rule: queue again the messages noted by note_unsent_claim that are still in
    the claim that was never sent (same claimed_at); returns how many went back."""
    noted = redis().hgetall(UNSENT_CLAIMS)
    released = []
    for key, when in noted.items():
        message_id, claimed_at = int(key), datetime.fromisoformat(when.decode())
        if db.session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == message_id, MESSAGES.c.status == Status.SENDING,
                   MESSAGES.c.claimed_at == claimed_at)
            .values(status=Status.QUEUED, claimed_at=None, held_until=None)
        ).rowcount:
            released.append(message_id)
    write_events([{"message_id": i, "status": Status.QUEUED,
                   "detail": "Back in the queue: the database connection broke as it was "
                             "claimed, before anything was sent"} for i in released])
    db.session.commit()
    if noted:
        redis().hdel(UNSENT_CLAIMS, *noted)
    return len(released)


class Ledger:
    """One sender's writes: the pending record rides in the next claim's commit."""

    def __init__(self):
        self.pending: Sent | None = None
        self.connection: Connection | None = None
        if is_postgresql():
            self.connection = db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT")

    def add(self, sent: Sent) -> None:
        """Remember what the provider said; it is written with the next claim or flush."""
        self.pending = sent

    def claim(self, message_id: int, provider: str, now: datetime | None = None) -> bool:
        """Write the pending record and take a queued, due message for sending, durably;
        False when another job has it, it is not due or its broadcast was cancelled."""
        now = now or utcnow()
        pending, self.pending = self.pending, None
        try:
            if self.connection is None:
                if pending is not None:
                    record_sent(pending)
                return claim(message_id, provider, now)  # commits both
            values = {**record_values(pending), "id": message_id, "now": now, "via": provider,
                      "detail": f"Sending through {provider}"}
            return bool(self.connection.execute(STEP, values).scalar())
        except DBAPIError:
            # The claim may have been committed with its answer lost: it was certainly not
            # sent, so say so where the sweeper will look even while the database is away.
            note_unsent_claim(message_id, now)
            raise

    def flush(self) -> None:
        """Write the pending record now (before a nap, at the end of the job)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        if self.connection is None:
            record_sent(pending)
            db.session.commit()
        else:
            self.connection.execute(STEP, {**record_values(pending), **NOTHING_TO_CLAIM})

    def close(self) -> None:
        """Flush, then give the connection back to the pool."""
        try:
            self.flush()
        finally:
            if self.connection is not None:
                self.connection.close()
                self.connection = None
