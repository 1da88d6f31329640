"""Delivery: claims, retries, permanent failures, unknown outcomes, crashes, multipart, audit."""

import multiprocessing
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select, update

from core.audit.models import AuditEvent
from core.clients.models import Client
from core.extensions import db
from core.messaging import attachments, delivery, pipeline, tasks
from core.messaging.models import Broadcast, Message, MessageEvent, MessagePart
from core.messaging.receipts import apply_receipt
from core.messaging.sweeper import sweep
from core.simulator.models import SimMessage
from tests.messaging.delivery_support import (
    bulk_appointments,
    events_of,
    make_broadcast,
    message_ids,
    now,
    only_message,
    script,
    scripted_sends,
    statuses,
    wait_for,
)


def _one(run_worker=None, appointments=None):
    """A fanned-out broadcast to one client; returns (broadcast, its message)."""
    broadcast = make_broadcast(appointments or bulk_appointments(1))
    tasks.fan_out(broadcast.id)
    return broadcast, only_message(broadcast.id)


def test_a_sent_message_records_the_provider_answer_and_its_history(app, fast, scripted,
                                                                    run_worker):
    broadcast, message = _one()

    run_worker()

    message = only_message(broadcast.id)
    assert message.status == "sent"
    assert message.provider == "scripted" and message.provider_id == f"scripted-{message.id}-1"
    assert message.segments == 1 and message.cost is not None and message.sent_at is not None
    assert message.attempts == 1
    assert [e[0] for e in events_of(message.id)] == ["queued", "sending", "sent"]
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.sent")).one()
    assert audit.client_id == message.client_id and audit.appointment_id == message.appointment_id
    assert audit.message_id == message.id and message.to_addr in audit.summary


def test_a_temporary_failure_is_retried_with_backoff_then_sent(app, fast, scripted, run_worker):
    broadcast, message = _one()
    script(message.to_addr, "transient", "transient")

    run_worker()
    first = only_message(broadcast.id)
    after_first = (first.status, first.next_attempt_at > first.created_at, first.reason)
    wait_for(lambda: only_message(broadcast.id).status == "sent", timeout=20,
             step=lambda: run_worker(with_scheduler=True))

    assert after_first == ("queued", True, "Retrying: Throttled by the provider")
    message = only_message(broadcast.id)
    assert message.attempts == 3 and message.reason == ""
    assert [e[0] for e in events_of(message.id)] == [
        "queued", "sending", "queued", "sending", "queued", "sending", "sent"]
    assert events_of(message.id)[2][1] == "429"
    assert len(scripted_sends()) == 1


def test_a_message_that_keeps_failing_temporarily_gives_up(app, fast, scripted, run_worker):
    broadcast, message = _one()
    script(message.to_addr, *["transient"] * 5)

    wait_for(lambda: only_message(broadcast.id).status == "failed", timeout=30,
             step=lambda: run_worker(with_scheduler=True))

    message = only_message(broadcast.id)
    assert message.attempts == 5
    assert message.reason == "Gave up after 5 attempts: Throttled by the provider"
    assert scripted_sends() == []


def test_a_permanent_failure_fails_with_the_provider_reason(app, fast, scripted, run_worker):
    broadcast, message = _one()
    script(message.to_addr, "permanent")

    run_worker()

    message = only_message(broadcast.id)
    assert message.status == "failed" and message.reason == "Invalid destination number"
    assert events_of(message.id)[-1] == ("failed", "3", "Invalid destination number")
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.failed"))
    assert [a.client_id for a in audit] == [message.client_id]
    assert db.session.get(Broadcast, broadcast.id).status == "sent"


def test_an_unknown_outcome_is_reconciled_by_its_receipt_not_resent(app, fast, scripted,
                                                                    run_worker):
    broadcast, message = _one()
    script(message.to_addr, "unknown")

    run_worker()
    sweep(now() + timedelta(hours=1))  # nothing re-sends a message in doubt
    run_worker()

    message = only_message(broadcast.id)
    assert message.status == "reconcile" and message.provider_id is None
    assert len(scripted_sends()) == 1
    provider_id = scripted_sends()[0]["provider_id"]
    assert apply_receipt(provider="scripted", provider_id=provider_id, status="delivered",
                         client_ref=str(message.id)) is True
    message = only_message(broadcast.id)
    assert message.status == "delivered" and message.provider_id == provider_id


def test_a_worker_dying_mid_send_leaves_the_message_for_reconciliation(app, fast, scripted,
                                                                       run_worker):
    app.config["DELIVERY_SENDERS"] = 1  # one sender: exactly one message is in flight
    broadcast = make_broadcast(bulk_appointments(3))
    tasks.fan_out(broadcast.id)
    first, second, third = message_ids(broadcast.id)
    script(db.session.get(Message, second).to_addr, "crash")

    run_worker()  # the work horse dies on the second message
    stuck = statuses(broadcast.id)
    sweep(now())  # too early: a send may still be under way
    early = statuses(broadcast.id)
    sweep(now() + timedelta(minutes=30))
    run_worker()

    assert stuck == {"sent": 1, "sending": 1, "queued": 1}
    assert early == stuck
    assert db.session.get(Message, second).status == "reconcile"
    assert db.session.get(Message, third).status == "sent"
    assert [s["id"] for s in scripted_sends()] == [first, third]  # the second never re-sent


def test_a_worker_dying_with_several_senders_leaves_only_their_messages_in_doubt(
        app, fast, scripted, run_worker):
    app.config["DELIVERY_SENDERS"] = 4
    broadcast = make_broadcast(bulk_appointments(40))
    tasks.fan_out(broadcast.id)
    ids = message_ids(broadcast.id)
    script(db.session.get(Message, ids[10]).to_addr, "crash")

    run_worker()  # the work horse dies while its senders are busy
    stuck = statuses(broadcast.id)
    sweep(now() + timedelta(minutes=30))
    run_worker()
    in_doubt = [m for m in ids if db.session.get(Message, m).status == "reconcile"]
    sends = Counter(s["id"] for s in scripted_sends())

    senders = 4 if db.engine.dialect.name == "postgresql" else 1  # SQLite: one writer
    assert 1 <= stuck["sending"] <= senders  # one claim per sender at most
    assert ids[10] in in_doubt and len(in_doubt) == stuck["sending"]
    assert all(count == 1 for count in sends.values())  # nothing sent twice
    assert set(sends) | set(in_doubt) == set(ids)  # and nothing lost
    assert statuses(broadcast.id) == {"sent": 40 - len(in_doubt), "reconcile": len(in_doubt)}


def test_every_sender_of_a_job_has_a_send_in_flight_against_a_slow_provider(
        app, fast, scripted, run_worker):
    # Each sender reads its broadcast's attachments through its session: a session that kept
    # that connection for the job held two per sender, and past the pool's size senders sat
    # waiting for one (11 senders at 300 ms latency made 10 texts/s instead of 26).
    senders = 12 if db.engine.dialect.name == "postgresql" else 1  # SQLite: one writer
    app.config["DELIVERY_SENDERS"] = senders
    broadcast = make_broadcast(bulk_appointments(4 * senders))
    tasks.fan_out(broadcast.id)
    for message_id in message_ids(broadcast.id):
        script(db.session.get(Message, message_id).to_addr, "slow")

    run_worker()

    sends = scripted_sends()
    in_flight = max(sum(1 for other in sends if other["t"] <= send["t"] < other["answered"])
                    for send in sends)
    assert statuses(broadcast.id) == {"sent": 4 * senders}
    assert in_flight == senders


def test_a_claim_prevents_double_sends_when_jobs_share_ids(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(120))
    tasks.fan_out(broadcast.id)
    ids = message_ids(broadcast.id)
    for _ in range(3):  # as if a sweeper had re-armed them while the first jobs were alive
        pipeline.enqueue_delivery(ids)

    workers = [multiprocessing.get_context("fork").Process(target=_work, args=(app,))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)

    assert all(w.exitcode == 0 for w in workers)
    per_ref = Counter(db.session.scalars(select(SimMessage.client_ref)))
    assert len(per_ref) == 120 and set(per_ref.values()) == {1}
    assert statuses(broadcast.id).get("sending", 0) == 0
    claims = select(func.count()).where(MessageEvent.status == "sending")
    assert db.session.scalar(claims) == 120  # one claim per message, however many jobs held it


def _work(app):
    """A worker process of its own (forked), as a second machine would run."""
    from worker import forget_inherited_sessions, make_worker

    forget_inherited_sessions()
    make_worker(app).work(burst=True)


def test_a_client_who_opted_out_after_fan_out_gets_no_text(app, fast, scripted, run_worker):
    broadcast, message = _one()
    db.session.execute(update(Client).values(opted_out=True))
    db.session.commit()

    run_worker()

    message = only_message(broadcast.id)
    assert message.status == "skipped" and message.reason == "Opted out"
    assert scripted_sends() == []


def test_a_long_text_keeps_the_id_of_every_part(app, fast, scripted, run_worker):
    broadcast, message = _one()
    script(message.to_addr, "parts3")

    run_worker()

    parts = db.session.scalars(select(MessagePart).order_by(MessagePart.seq)).all()
    assert [p.seq for p in parts] == [1, 2, 3]
    assert parts[0].provider_id == only_message(broadcast.id).provider_id
    assert only_message(broadcast.id).segments == 3


def test_delivery_skips_messages_not_due_or_not_queued(app, fast, scripted):
    broadcast = make_broadcast(bulk_appointments(3))
    tasks.fan_out(broadcast.id)
    later, done, due = message_ids(broadcast.id)
    db.session.execute(update(Message).where(Message.id == later)
                       .values(send_at=now() + timedelta(hours=1)))
    db.session.execute(update(Message).where(Message.id == done).values(status="sent"))
    db.session.commit()

    outcomes = delivery.deliver([later, done, due])

    assert outcomes == {"sent": 1}
    assert [s["id"] for s in scripted_sends()] == [due]


def test_a_picture_message_carries_its_pictures_to_the_provider(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(2), channel="mms")
    picture = attachments.Checked(kind=attachments.IMAGE, filename="closed.png",
                                  content_type="image/png", data=b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    attachments.store(broadcast.id, [picture])
    db.session.commit()
    tasks.fan_out(broadcast.id)

    run_worker()

    phones = db.session.scalars(select(SimMessage)).all()
    assert len(phones) == 2
    assert all(len(p.media) == 1 and "/media/" in p.media[0] for p in phones)
