"""The simulator's receipts, end to end: pipeline → simulated phone → receipt job → delivered."""

from sqlalchemy import select

from core.extensions import db
from core.messaging import pipeline
from core.messaging.models import Message, MessageEvent
from core.simulator.models import SimMessage


def _queued(client, **fields):
    values = {"channel": "sms", "to_addr": client.mobile, "from_addr": "+12025559999",
              "body": "Your visit is tomorrow at 9:00.", "client_id": client.id}
    values.update(fields)
    message = Message(**values)
    db.session.add(message)
    db.session.commit()
    return message


def test_a_text_reaches_the_phone_and_is_reported_delivered(app, make_client, run_worker):
    app.config["SIMULATOR_RECEIPT_DELAY"] = 0
    message = _queued(make_client())
    pipeline.enqueue_delivery([message.id])

    run_worker(with_scheduler=True)  # sends; the receipt is scheduled
    sent = db.session.get(Message, message.id)
    assert (sent.status, sent.provider) == ("sent", "simulator")
    on_phone = db.session.scalar(select(SimMessage))
    assert (on_phone.provider_id, on_phone.client_ref) == (sent.provider_id, str(message.id))

    run_worker(with_scheduler=True)  # the scheduler releases the receipt job
    delivered = db.session.get(Message, message.id)
    assert delivered.status == "delivered" and delivered.delivered_at is not None
    details = db.session.scalars(
        select(MessageEvent.detail).where(MessageEvent.message_id == message.id)).all()
    assert "Delivered to handset" in details


def test_a_failure_number_fails_the_message_with_the_simulator_reason(app, make_client,
                                                                     run_worker):
    message = _queued(make_client(mobile="+12025550000"))
    pipeline.enqueue_delivery([message.id])
    run_worker(with_scheduler=True)
    failed = db.session.get(Message, message.id)
    assert (failed.status, failed.reason) == ("failed", "Invalid destination number")
    assert db.session.scalar(select(SimMessage)) is None


def test_no_receipt_for_a_send_that_never_committed(app, run_worker):
    from core.jobs import queue

    queue("default").enqueue("core.simulator.tasks.deliver_receipt", "never-sent")
    run_worker()
    assert queue("default").count == 0
    assert len(queue("default").failed_job_registry) == 0
