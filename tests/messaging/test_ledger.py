"""The sender's ledger: claim and record in one durable step, and claims whose answer was lost."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.audit.models import AuditEvent
from core.extensions import db
from core.jobs import redis
from core.messaging import tasks
from core.messaging.ledger import UNSENT_CLAIMS, Ledger, note_unsent_claim
from core.messaging.models import Message
from core.messaging.sweeper import sweep
from core.messaging.transitions import Due, Sent
from core.providers.base import SendResult
from tests.messaging.delivery_support import (
    bulk_appointments,
    events_of,
    make_broadcast,
    message_ids,
    now,
    scripted_sends,
)


def _queued(count: int) -> list[int]:
    broadcast = make_broadcast(bulk_appointments(count))
    tasks.fan_out(broadcast.id)
    return message_ids(broadcast.id)


def _due(message_id: int) -> Due:
    m = db.session.get(Message, message_id)
    return Due(m.id, m.broadcast_id, m.client_id, m.appointment_id, m.channel, m.to_addr,
               m.from_addr, m.subject, m.body, m.attempts, False)


def test_the_previous_record_rides_in_the_next_claim(app, fast):
    first, second = _queued(2)
    ledger = Ledger()
    assert ledger.claim(first, "vonage")
    ledger.add(Sent(_due(first), "vonage", SendResult("V-1", 2, None, "0", ("V-1", "V-2")),
                    now()))
    assert ledger.claim(second, "vonage")
    ledger.close()

    db.session.expire_all()
    sent = db.session.get(Message, first)
    assert (sent.status, sent.provider_id, sent.segments) == ("sent", "V-1", 2)
    assert [e[0] for e in events_of(first)][-2:] == ["sending", "sent"]
    assert db.session.get(Message, second).status == "sending"
    audit = db.session.query(AuditEvent).filter_by(message_id=first).one()
    assert audit.action == "message.sent" and audit.appointment_id == sent.appointment_id


def test_a_claimed_message_cannot_be_claimed_twice(app, fast):
    [message_id] = _queued(1)
    one, two = Ledger(), Ledger()
    assert one.claim(message_id, "vonage") is True
    assert two.claim(message_id, "vonage") is False
    one.close()
    two.close()


def test_a_claim_whose_answer_was_lost_is_queued_again_and_sent_once(app, fast, scripted,
                                                                    run_worker):
    [message_id] = _queued(1)
    claimed_at = now()
    ledger = Ledger()
    assert ledger.claim(message_id, "vonage", claimed_at)  # committed; say the answer was lost
    ledger.close()
    note_unsent_claim(message_id, claimed_at)

    done = sweep(now() + timedelta(seconds=1))
    run_worker()

    assert done["unsent_claims"] == 1 and not redis().hlen(UNSENT_CLAIMS)
    assert db.session.get(Message, message_id).status == "sent"
    assert [s["id"] for s in scripted_sends()] == [message_id]
    assert any("Back in the queue" in detail for _, _, detail in events_of(message_id))


def test_a_noted_claim_that_went_on_to_another_attempt_is_left_alone(app, fast):
    [message_id] = _queued(1)
    ledger = Ledger()
    assert ledger.claim(message_id, "vonage")
    ledger.close()
    note_unsent_claim(message_id, now() - timedelta(minutes=1))  # an older, different claim

    assert sweep(now())["unsent_claims"] == 0
    assert db.session.get(Message, message_id).status == "sending"  # left to reconcile
    assert not redis().hlen(UNSENT_CLAIMS)


def test_a_claim_on_a_broken_connection_is_noted_as_unsent(app, fast):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs a server connection to break")
    [message_id] = _queued(1)
    ledger = Ledger()
    pid = ledger.connection.exec_driver_sql("select pg_backend_pid()").scalar()
    db.session.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()

    with pytest.raises(DBAPIError):
        ledger.claim(message_id, "vonage")

    assert redis().hexists(UNSENT_CLAIMS, str(message_id))
    assert db.session.get(Message, message_id).status == "queued"  # it never reached the server
    sweep(now())
    assert not redis().hlen(UNSENT_CLAIMS)
