"""The inbound drain: one job for many webhooks, batches claimed once, the sweeper re-arming
what Redis or a dead worker lost, a failing message isolated from its batch."""

from datetime import timedelta

from sqlalchemy import func, select

from core.clients.models import Client
from core.conversations import operations
from core.conversations.models import PendingInbound
from core.extensions import db
from core.jobs import queue
from core.messaging import inbound_drain
from core.messaging.inbound import PROCESSED, is_processed
from core.messaging.models import Direction, Message, MessageEvent
from core.messaging.sweeper import sweep
from core.types import utcnow

URL = "/webhooks/simulator/inbound"


def _post(client, inbound_params, n: int, text: str = "Running late") -> None:
    for i in range(n):
        answer = client.post(URL, data=inbound_params(msisdn=f"1202555{i:04d}", text=text))
        assert answer.status_code == 200


def _marks() -> dict[int, int]:
    """PROCESSED events per inbound message."""
    query = (select(MessageEvent.message_id, func.count()).where(MessageEvent.code == PROCESSED)
             .group_by(MessageEvent.message_id))
    return dict(db.session.execute(query).all())


def _inbound_ids() -> list[int]:
    query = select(Message.id).where(Message.direction == Direction.IN).order_by(Message.id)
    return list(db.session.scalars(query))


def test_many_webhooks_make_one_drain_job_and_one_delivery_job(client, inbound_params,
                                                               run_worker):
    _post(client, inbound_params, 30)
    assert queue("high").count == 1  # one trigger for 30 stored texts
    run_worker(queues=["high"])
    assert _marks() == {i: 1 for i in _inbound_ids()}
    assert db.session.scalar(select(func.count()).select_from(PendingInbound)) == 0
    replies = db.session.scalar(select(func.count()).select_from(Message)
                                .where(Message.direction == Direction.OUT))
    assert replies == 30 and queue("default").count == 1  # 30 auto-replies, one delivery job


def test_the_sweeper_drains_what_redis_lost(app, client, inbound_params, run_worker):
    _post(client, inbound_params, 3)
    app.extensions["redis"].flushdb()  # the trigger and its job are gone; the rows are not
    assert sweep()["inbound"] == 0  # within the grace a drain may still be on its way
    assert sweep(utcnow() + inbound_drain.GRACE + timedelta(seconds=1))["inbound"] == 3
    run_worker(queues=["high"])
    assert _marks() == {i: 1 for i in _inbound_ids()}


def test_rows_a_dead_drain_held_are_taken_again_after_the_hold(app, client, inbound_params,
                                                               run_worker):
    _post(client, inbound_params, 4)
    app.extensions["redis"].flushdb()
    assert len(inbound_drain.claim(10)) == 4  # a drain claimed them, then its worker died
    assert inbound_drain.claim(10) == []  # held: no other drain takes them meanwhile
    later = utcnow() + inbound_drain.HOLD + timedelta(seconds=1)
    assert sweep(utcnow() + timedelta(minutes=1))["inbound"] == 0
    assert sweep(later)["inbound"] == 4
    db.session.execute(PendingInbound.__table__.update().values(held_until=utcnow()))
    db.session.commit()  # as if the hold had passed in the worker's clock too
    run_worker(queues=["high"])
    assert _marks() == {i: 1 for i in _inbound_ids()}


def test_a_failing_message_is_left_for_later_and_the_rest_of_its_batch_is_handled(
        client, inbound_params, monkeypatch):
    _post(client, inbound_params, 3)
    first, bad, last = _inbound_ids()
    handle = operations.handle_inbound

    def fail_on_bad(message):
        if message.id == bad:
            raise RuntimeError("boom")
        return handle(message)

    monkeypatch.setattr(operations, "handle_inbound", fail_on_bad)
    assert inbound_drain.drain_inbound() == 2
    assert _marks() == {first: 1, last: 1}
    assert not is_processed(bad)
    [row] = db.session.scalars(select(PendingInbound))
    assert row.message_id == bad and row.held_until > utcnow()  # tried again after the hold


def test_a_message_failing_every_attempt_is_marked_with_no_automatic_action(
        client, inbound_params, monkeypatch):
    _post(client, inbound_params, 1)
    [message_id] = _inbound_ids()
    monkeypatch.setattr(operations, "handle_inbound", lambda m: 1 / 0)
    for _ in range(inbound_drain.MAX_ATTEMPTS):
        db.session.execute(PendingInbound.__table__.update().values(held_until=None))
        db.session.commit()
        inbound_drain.drain_inbound()
    assert is_processed(message_id)
    assert db.session.scalar(select(func.count()).select_from(PendingInbound)) == 0
    detail = db.session.scalar(select(MessageEvent.detail).where(
        MessageEvent.message_id == message_id, MessageEvent.code == PROCESSED))
    assert "no automatic action" in detail


def test_stop_and_start_in_one_batch_are_applied_in_order(client, make_client, inbound_params,
                                                          run_worker):
    ann = make_client(mobile="+12025550001")
    for word in ("STOP", "START", "STOP"):
        assert client.post(URL, data=inbound_params(text=word)).status_code == 200
    run_worker(queues=["high"])
    assert db.session.get(Client, ann.id).opted_out
    assert len(_marks()) == 3
