"""Delivery receipts: idempotent, multipart, settling reconciliation, late and unknown ones."""

import multiprocessing
from datetime import timedelta

from sqlalchemy import select

from core.audit.models import AuditEvent
from core.extensions import db
from core.messaging import tasks
from core.messaging.models import MessagePart
from core.messaging.receipts import NO_RECEIPT, apply_receipt
from core.messaging.sweeper import sweep
from tests.messaging.delivery_support import (
    bulk_appointments,
    events_of,
    make_broadcast,
    now,
    only_message,
    script,
    scripted_sends,
    wait_for,
)


def _sent(run_worker, *outcomes):
    """One message sent through the scripted provider (with the given script)."""
    broadcast = make_broadcast(bulk_appointments(1))
    tasks.fan_out(broadcast.id)
    if outcomes:
        script(only_message(broadcast.id).to_addr, *outcomes)
    run_worker()
    return broadcast.id, only_message(broadcast.id)


def _receipt(provider_id, status, **kw):
    return apply_receipt(provider="scripted", provider_id=provider_id, status=status, **kw)


def test_a_delivered_receipt_settles_the_message_once(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker)
    at = now() - timedelta(seconds=5)

    first = _receipt(message.provider_id, "delivered", code="0", detail="Delivered", at=at)
    history = events_of(message.id)
    replay = _receipt(message.provider_id, "delivered", code="0", detail="Delivered", at=at)

    message = only_message(broadcast_id)
    assert first is True and replay is True
    assert message.status == "delivered" and message.delivered_at == at
    assert history[-1] == ("delivered", "0", "Delivered")
    assert events_of(message.id) == history  # the replay added nothing
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.delivered"))
    assert len(list(audits)) == 1


def test_a_receipt_for_an_unknown_id_is_refused(app):
    assert _receipt("no-such-id", "delivered") is False
    assert _receipt("no-such-id", "delivered", client_ref="987654") is False


def test_a_failed_receipt_keeps_the_network_reason(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker)

    _receipt(message.provider_id, "failed", code="3", detail="Number no longer in service")
    _receipt(message.provider_id, "delivered")  # a final state does not change back

    message = only_message(broadcast_id)
    assert message.status == "failed" and message.reason == "Number no longer in service"
    assert events_of(message.id)[-1] == ("failed", "3", "Number no longer in service")


def test_intermediate_receipts_do_not_go_backwards(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker)

    _receipt(message.provider_id, "delivered")
    _receipt(message.provider_id, "accepted")
    _receipt(message.provider_id, "buffered")

    assert only_message(broadcast_id).status == "delivered"
    assert [e[0] for e in events_of(message.id)][-2:] == ["sent", "delivered"]


def test_a_long_text_is_delivered_when_every_part_is(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker, "parts3")
    parts = db.session.scalars(select(MessagePart.provider_id).order_by(MessagePart.seq)).all()

    _receipt(parts[0], "delivered")
    _receipt(parts[2], "delivered")
    _receipt(parts[2], "delivered")  # replayed
    halfway = only_message(broadcast_id).status
    _receipt(parts[1], "delivered")

    assert halfway == "sent"
    message = only_message(broadcast_id)
    assert message.status == "delivered"
    part_events = [e for e in events_of(message.id) if e[2].startswith("Part ")]
    assert [e[2] for e in part_events] == ["Part 1 of 3: delivered", "Part 3 of 3: delivered",
                                           "Part 2 of 3: delivered"]


def test_a_long_text_fails_when_one_part_fails(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker, "parts2")
    first, second = db.session.scalars(
        select(MessagePart.provider_id).order_by(MessagePart.seq)).all()

    _receipt(first, "delivered")
    _receipt(second, "failed", code="7", detail="Handset busy")

    message = only_message(broadcast_id)
    assert message.status == "failed" and message.reason == "Handset busy"


def test_an_accepted_receipt_settles_reconciliation_as_sent(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker, "unknown")
    provider_id = scripted_sends()[0]["provider_id"]

    assert message.status == "reconcile"
    assert _receipt(provider_id, "accepted", client_ref=message.id) is True
    message = only_message(broadcast_id)
    assert message.status == "sent" and message.provider_id == provider_id
    _receipt(provider_id, "delivered")  # later receipts find it by its provider id now
    assert only_message(broadcast_id).status == "delivered"


def test_a_late_receipt_corrects_a_no_receipt_failure(app, fast, scripted, run_worker):
    broadcast_id, message = _sent(run_worker, "unknown")
    sweep(now() + timedelta(hours=25))
    gave_up = (only_message(broadcast_id).status, only_message(broadcast_id).reason)

    _receipt(scripted_sends()[0]["provider_id"], "delivered", client_ref=str(message.id))

    assert gave_up == ("failed", NO_RECEIPT)
    assert only_message(broadcast_id).status == "delivered"


def test_the_simulator_receipt_arrives_through_the_pipeline(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(2))
    tasks.fan_out(broadcast.id)

    wait_for(lambda: {m.status for m in _messages(broadcast.id)} == {"delivered"}, timeout=20,
             step=lambda: run_worker(with_scheduler=True))

    assert all(m.delivered_at >= m.sent_at for m in _messages(broadcast.id))


def _messages(broadcast_id):
    from core.messaging.models import Message

    db.session.expire_all()
    return db.session.scalars(select(Message).where(Message.broadcast_id == broadcast_id)).all()


def test_receipts_for_two_parts_arriving_together_both_count(app, fast, scripted, run_worker):
    broadcast_id = make_broadcast(bulk_appointments(6)).id
    tasks.fan_out(broadcast_id)
    for message in _messages(broadcast_id):
        script(message.to_addr, "parts2")
    run_worker()
    parts = db.session.execute(select(MessagePart.message_id, MessagePart.provider_id)
                               .order_by(MessagePart.message_id, MessagePart.seq)).all()
    firsts, seconds = [p for _, p in parts[0::2]], [p for _, p in parts[1::2]]
    db.session.remove()

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    procs = [context.Process(target=_apply_all, args=(ids, barrier)) for ids in (firsts, seconds)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)

    assert [p.exitcode for p in procs] == [0, 0]
    assert {m.status for m in _messages(broadcast_id)} == {"delivered"}


def _apply_all(provider_ids, barrier):
    """A webhook process: one part's receipt per message, in step with the other process."""
    from worker import forget_inherited_sessions

    forget_inherited_sessions()
    for provider_id in provider_ids:
        barrier.wait(10)
        _receipt(provider_id, "delivered")
