"""The pipeline's public API: fan-out, scheduled sends, cancelling, progress."""

import time
from datetime import timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import delete, func, select, update

from core.audit.models import AuditEvent
from core.extensions import db
from core.jobs import queue
from core.messaging import fanout, pipeline, tasks
from core.messaging.models import Broadcast, Message, MessageEvent
from core.simulator.models import SimMessage
from tests.messaging.delivery_support import (
    bulk_appointments,
    events_of,
    make_broadcast,
    message_ids,
    now,
    statuses,
    wait_for,
)


def _delivery_jobs():
    return [job for job in queue("default").jobs if job.func_name == pipeline.DELIVER]


def _sent_count(broadcast_id):
    counts = statuses(broadcast_id)
    return counts.get("sent", 0) + counts.get("delivered", 0)


def test_fan_out_of_1000_recipients_bulk_inserts_and_makes_few_jobs(app, fast, query_counter):
    appointments = bulk_appointments(993) + bulk_appointments(7, opted_out=True)
    broadcast = make_broadcast(appointments)

    with query_counter() as statements:
        created = tasks.fan_out(broadcast.id)

    assert created == 1000
    inserts = [s for s in statements
               if s.lstrip().upper().startswith(("INSERT INTO MESSAGES", "COPY MESSAGES"))]
    assert len(inserts) == 1  # one bulk write (COPY or executemany), never one row at a time
    assert statuses(broadcast.id) == {"queued": 993, "skipped": 7}
    skipped = db.session.scalars(select(Message).where(Message.status == "skipped")).all()
    assert {m.reason for m in skipped} == {"Opted out"}
    jobs = _delivery_jobs()
    assert 1 <= len(jobs) <= 10
    held = sorted(i for job in jobs for i in job.args[0])
    queued = sorted(db.session.scalars(select(Message.id).where(Message.status == "queued")))
    assert held == queued  # every queued message is in exactly one job
    assert all(100 <= len(job.args[0]) <= 500 for job in jobs[:-1])
    assert db.session.get(Broadcast, broadcast.id).total == 1000
    # (the drill in test_drills.py delivers a batch of 1,000 end to end)


def test_a_broadcast_is_delivered_end_to_end_and_marked_sent(app, fast, run_worker):
    appointments = bulk_appointments(20) + bulk_appointments(2, opted_out=True)
    broadcast = make_broadcast(appointments)
    pipeline.start_broadcast(broadcast.id)

    run_worker()

    assert _sent_count(broadcast.id) == 20
    per_ref = db.session.execute(
        select(SimMessage.client_ref, func.count()).group_by(SimMessage.client_ref)).all()
    assert len(per_ref) == 20 and {n for _, n in per_ref} == {1}
    assert db.session.get(Broadcast, broadcast.id).status == "sent"
    assert pipeline.progress(broadcast.id)["done"] is True


def _wait_until_sent(broadcast_id, count, run_worker, timeout=20):
    return wait_for(lambda: _sent_count(broadcast_id) == count, timeout=timeout,
                    step=lambda: run_worker(with_scheduler=True))


def test_a_scheduled_broadcast_goes_at_its_time_not_before(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(3))
    send_at = now() + timedelta(seconds=3)
    db.session.execute(update(Broadcast).values(send_at=send_at, status="scheduled"))
    db.session.commit()

    job = pipeline.start_broadcast(broadcast.id)
    run_worker(with_scheduler=True)

    assert job.get_status() == "scheduled"
    assert statuses(broadcast.id) == {}  # nothing created, nothing sent yet
    _wait_until_sent(broadcast.id, 3, run_worker)
    sent_at = db.session.scalars(select(Message.sent_at)).all()
    assert min(sent_at) >= send_at
    assert db.session.scalar(select(func.count()).select_from(SimMessage)) == 3


def test_a_cancelled_scheduled_broadcast_never_goes(app, fast, run_worker, make_user):
    broadcast = make_broadcast(bulk_appointments(3), send_at=now() + timedelta(seconds=1))
    pipeline.start_broadcast(broadcast.id)

    assert pipeline.cancel_broadcast(broadcast.id, actor=make_user()) == 0
    time.sleep(2.1)  # triggers fire on whole seconds
    run_worker(with_scheduler=True)
    run_worker(with_scheduler=True)

    assert statuses(broadcast.id) == {}
    assert db.session.scalar(select(func.count()).select_from(SimMessage)) == 0
    assert db.session.get(Broadcast, broadcast.id).status == "cancelled"
    assert pipeline.progress(broadcast.id)["done"] is True
    assert pipeline.start_broadcast(broadcast.id) is None  # a cancelled send stays cancelled


def test_moving_a_scheduled_send_later_disarms_the_old_trigger(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(2), send_at=now() + timedelta(seconds=1))
    pipeline.start_broadcast(broadcast.id)

    broadcast.send_at = now() + timedelta(hours=1)
    db.session.commit()
    pipeline.start_broadcast(broadcast.id)
    time.sleep(2.1)  # triggers fire on whole seconds
    run_worker(with_scheduler=True)

    assert statuses(broadcast.id) == {}
    assert db.session.get(Broadcast, broadcast.id).status == "scheduled"
    registry = ScheduledJobRegistry(queue=queue("default"))
    (left,) = registry.get_job_ids()  # the old trigger fired (and did nothing)
    assert registry.get_scheduled_time(left) > now() + timedelta(minutes=59)


def test_cancelling_stops_every_message_not_yet_sent(app, fast, run_worker, make_user):
    broadcast = make_broadcast(bulk_appointments(30))
    tasks.fan_out(broadcast.id)
    actor = make_user()

    assert pipeline.cancel_broadcast(broadcast.id, actor=actor) == 30
    run_worker()

    assert statuses(broadcast.id) == {"cancelled": 30}
    assert db.session.scalar(select(func.count()).select_from(SimMessage)) == 0
    first = message_ids(broadcast.id)[0]
    assert events_of(first)[-1][0] == "cancelled"
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.cancelled"))
    assert {a.actor_id for a in audits} == {actor.id}
    progress = pipeline.progress(broadcast.id)
    assert progress["cancelled"] == 30 and progress["total"] == 30 and progress["done"]


def test_cancel_one_message(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(2))
    tasks.fan_out(broadcast.id)
    first, second = message_ids(broadcast.id)

    assert pipeline.cancel_message(first) is True
    run_worker()

    assert pipeline.cancel_message(second) is False  # already sent
    assert db.session.get(Message, first).status == "cancelled"
    assert db.session.get(Message, second).status in ("sent", "delivered")


def test_progress_counts_each_status_until_done(app, fast, run_worker):
    appointments = bulk_appointments(4) + bulk_appointments(1, opted_out=True)
    broadcast = make_broadcast(appointments)
    db.session.execute(update(Broadcast).values(total=5))
    db.session.commit()

    before = pipeline.progress(broadcast.id)
    tasks.fan_out(broadcast.id)
    middle = pipeline.progress(broadcast.id)
    run_worker()
    after = pipeline.progress(broadcast.id)

    assert before["total"] == 5 and before["done"] is False and before["queued"] == 0
    assert middle["queued"] == 4 and middle["skipped"] == 1 and middle["done"] is False
    assert after["sent"] + after["delivered"] == 4 and after["skipped"] == 1
    assert after["total"] == 5 and after["done"] is True and after["status"] == "sent"
    assert pipeline.progress(987654) is None


def test_a_second_trigger_does_nothing(app, fast):
    broadcast = make_broadcast(bulk_appointments(5))

    assert tasks.fan_out(broadcast.id) == 5
    assert tasks.fan_out(broadcast.id) == 0
    assert statuses(broadcast.id) == {"queued": 5}


def test_a_fan_out_not_due_yet_does_nothing(app, fast):
    broadcast = make_broadcast(bulk_appointments(2), send_at=now() + timedelta(hours=1))

    assert tasks.fan_out(broadcast.id) == 0
    assert db.session.get(Broadcast, broadcast.id).status == "scheduled"


def test_a_stalled_fan_out_resumes_without_duplicates(app, fast, run_worker):
    broadcast = make_broadcast(bulk_appointments(10))
    tasks.fan_out(broadcast.id)
    # A fan-out that died after its first chunk: six messages missing, the claim gone stale.
    doomed = message_ids(broadcast.id)[4:]
    db.session.execute(delete(Message).where(Message.id.in_(doomed)))
    db.session.execute(update(Broadcast).values(status="sending", fanned_out_at=None,
                                                claimed_at=now() - timedelta(minutes=10)))
    db.session.commit()

    assert tasks.fan_out(broadcast.id) == 6
    run_worker()

    assert _sent_count(broadcast.id) == 10
    appointments = db.session.scalars(select(Message.appointment_id)).all()
    assert len(set(appointments)) == 10
    assert db.session.get(Broadcast, broadcast.id).total == 10


def test_a_live_fan_out_is_not_taken_over(app, fast):
    broadcast = make_broadcast(bulk_appointments(2))
    db.session.execute(update(Broadcast).values(status="sending", claimed_at=now()))
    db.session.commit()

    assert tasks.fan_out(broadcast.id) == 0


def test_the_message_page_shows_queued_and_skipped_from_the_row(app, fast):
    broadcast = make_broadcast(bulk_appointments(1) + bulk_appointments(1, opted_out=True))
    tasks.fan_out(broadcast.id)
    queued, skipped = message_ids(broadcast.id)

    # No event per message at creation: the row says it, and the page shows it.
    assert db.session.scalar(select(func.count()).select_from(MessageEvent)) == 0
    assert events_of(queued) == [("queued", "", "Queued")]
    assert events_of(skipped) == [("skipped", "", "Opted out")]
    pipeline.cancel_message(queued)
    assert [e[0] for e in events_of(queued)] == ["queued", "cancelled"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "message.skipped")) == 1


def test_a_fan_out_of_several_chunks_writes_each_once_and_stops_when_cancelled(
        app, fast, monkeypatch):
    monkeypatch.setattr(fanout, "FIRST_CHUNK", 40)
    monkeypatch.setattr(fanout, "INSERT_CHUNK", 40)
    broadcast = make_broadcast(bulk_appointments(200))
    written = []
    write = fanout.Writer.write

    def write_then_cancel(self, rows, planned):
        ids, planned = write(self, rows, planned)
        written.append(len(ids))
        if len(written) == 2:  # someone presses Cancel while the third chunk is planned
            pipeline.cancel_broadcast(broadcast.id)
        return ids, planned

    monkeypatch.setattr(fanout.Writer, "write", write_then_cancel)
    assert tasks.fan_out(broadcast.id) == 80
    assert written == [40, 40, 0]  # the third chunk saw the cancel and wrote nothing
    assert statuses(broadcast.id) == {"cancelled": 80}
    jobs = _delivery_jobs()
    assert sum(len(job.args[0]) for job in jobs) == 80 and len(jobs) <= 2
