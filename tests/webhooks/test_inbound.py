"""accept_inbound: one row per provider message, matched to client and appointment, audited."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.audit.operations import history
from core.clients.models import Client
from core.extensions import db
from core.jobs import queue
from core.messaging.inbound import accept_inbound
from core.messaging.models import Message
from tests.conftest import BACKEND


def _accept(**fields):
    values = {"provider": "simulator", "provider_id": uuid.uuid4().hex, "from_addr": "12025550001",
              "to_addr": "12025559999", "body": "Yes"}
    values.update(fields)
    return accept_inbound(**values)


def _outbound(client, appointment=None, days_ago=1, status="delivered", **fields):
    sent = datetime.now(UTC) - timedelta(days=days_ago)
    message = Message(direction="out", channel="sms", to_addr=client.mobile, body="Reminder",
                      client_id=client.id, appointment_id=appointment and appointment.id,
                      status=status, sent_at=sent, created_at=sent, **fields)
    db.session.add(message)
    db.session.commit()
    return message


def test_a_reply_joins_the_appointment_of_the_latest_text(make_client, make_appointment):
    ann = make_client(mobile="+12025550001")
    old, new = make_appointment(client=ann), make_appointment(client=ann)
    _outbound(ann, old, days_ago=5)
    _outbound(ann, new, days_ago=2)
    message, created = _accept(body="YES")
    assert created and message.appointment_id == new.id
    [event] = history(appointment_id=new.id)
    assert event.action == "message.received" and "YES" in event.summary
    assert [e.action for e in history(client_id=ann.id)] == ["message.received"]


def test_a_reply_a_month_later_joins_no_appointment(make_client, make_appointment):
    ann = make_client(mobile="+12025550001")
    _outbound(ann, make_appointment(client=ann), days_ago=31)
    message, _ = _accept()
    assert message.appointment_id is None and message.client_id == ann.id


def test_unsent_messages_are_not_what_the_client_answers(make_client, make_appointment):
    ann = make_client(mobile="+12025550001")
    sent = make_appointment(client=ann)
    _outbound(ann, sent, days_ago=3)
    _outbound(ann, make_appointment(client=ann), days_ago=1, status="skipped")
    assert _accept()[0].appointment_id == sent.id


def test_a_shared_number_goes_to_the_client_we_wrote_to_last(make_client):
    mother = make_client(first_name="Mother", mobile="+12025550001")
    son = make_client(first_name="Son", mobile="+12025550001")
    _outbound(son, days_ago=3)
    _outbound(mother, days_ago=1)
    assert _accept()[0].client_id == mother.id


def test_an_email_reply_finds_its_client_by_address(make_client):
    ann = make_client(email="ann@example.com")
    message, _ = _accept(from_addr="Ann@Example.COM", channel="email", subject="Re: snow",
                         body="Thanks")
    assert (message.channel, message.from_addr, message.subject) == ("email", "ann@example.com",
                                                                     "Re: snow")
    assert message.client_id == ann.id


def test_the_provider_time_is_kept(make_client):
    make_client(mobile="+12025550001")
    at = datetime(2025, 3, 4, 14, 5, tzinfo=UTC)
    message, _ = _accept(received_at=at)
    db.session.expire_all()
    assert db.session.get(Message, message.id).created_at == at


def test_a_twin_that_won_the_race_leaves_no_stray_client(app):
    """The losing insert (ON CONFLICT DO NOTHING) rolls back the unknown client it made."""
    first, created = _accept(provider_id="race-1", from_addr="12025550777")
    assert created
    again, created = _accept(provider_id="race-1", from_addr="12025550888")
    assert (again.id, created) == (first.id, False)
    assert db.session.scalar(select(func.count(Message.id))) == 1
    assert db.session.scalar(select(Client.mobile).where(Client.mobile == "+12025550888")) is None


@pytest.mark.skipif(BACKEND == "sqlite", reason="SQLite refuses concurrent writers at once")
def test_concurrent_deliveries_store_one_message(app, make_client):
    make_client(mobile="+12025550001")
    barrier = threading.Barrier(6)
    results, errors = [], []

    def deliver():
        with app.app_context():
            try:
                barrier.wait()
                message, created = _accept(provider_id="same-id")
                results.append((message.id, created))
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({message_id for message_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert db.session.scalar(select(func.count(Message.id))) == 1


def test_a_replay_requeues_processing_lost_with_redis(app, make_client):
    make_client(mobile="+12025550001")
    message, _ = _accept(provider_id="lost-1")
    app.extensions["redis"].flushdb()  # the job vanished before a worker ran it
    _accept(provider_id="lost-1")
    assert queue("high").count == 1
    _accept(provider_id="lost-1")
    assert queue("high").count == 1  # the job exists again: no duplicate


def test_a_processed_message_is_not_requeued(make_client, run_worker):
    make_client(mobile="+12025550001")
    _accept(provider_id="done-1")
    run_worker(queues=["high"])
    app_redis_jobs = queue("high").count
    _accept(provider_id="done-1")
    assert app_redis_jobs == queue("high").count == 0
