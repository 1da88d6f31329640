"""Opt-out, opt-in and HELP keywords: a reply through the simulator webhook, a real worker."""

from datetime import timedelta

import pytest
from rq.job import Job
from sqlalchemy import select, update

from core.audit.operations import history
from core.clients.models import Client
from core.conversations.autoresponse import guard_key
from core.extensions import db
from core.jobs import QUEUES, queue, redis
from core.messaging import compose
from core.messaging.models import Broadcast, Message, Status
from core.messaging.pipeline import enqueue_delivery
from core.messaging.transitions import lease
from core.simulator.models import SimMessage
from core.simulator.operations import send_reply
from core.types import utcnow

STOP_VARIANTS = ["STOP", "stop", " Stop ", "STOP!", "stopall", "UNSUBSCRIBE", "Cancel.",
                 "end", "QUIT", "  quit!! ", "Unsubscribe.",
                 # 47 CFR 64.1200(a)(10) revocation words, any case, punctuation around them
                 "REVOKE", "revoke.", "OPT OUT", "opt-out!", "Opt out", "OPTOUT", "optout?",
                 "REMOVE", " remove! ", "Remove me"]


def phone_texts(number):
    """What the client's simulated phone received, oldest first."""
    query = select(SimMessage.body).where(SimMessage.address == number,
                                          SimMessage.incoming.is_(True)).order_by(SimMessage.id)
    return list(db.session.scalars(query))


def scheduled_time_comes():
    """As if the clock reached every scheduled send: rows due now, RQ's scheduled jobs queued
    (what RQ's scheduler does when their time comes), without sleeping in the test."""
    now = utcnow()
    db.session.execute(update(Broadcast).where(Broadcast.send_at > now).values(send_at=now))
    db.session.execute(update(Message).where(Message.send_at > now).values(send_at=now))
    db.session.commit()
    for name in QUEUES:
        registry = queue(name).scheduled_job_registry
        for job_id in registry.get_job_ids():
            job = Job.fetch(job_id, connection=redis())
            registry.remove(job)
            queue(name).enqueue_job(job)


def queued_text(client, body="Reminder", send_at=None):
    """A text queued for the client and already enqueued in Redis (due now or later)."""
    now = utcnow()
    message = Message(direction="out", channel="sms", to_addr=client.mobile, body=body,
                      client_id=client.id, status=Status.QUEUED, send_at=send_at or now,
                      created_at=now, held_until=(send_at or now) + lease())
    db.session.add(message)
    db.session.commit()
    enqueue_delivery([message.id], at=send_at)
    return message


@pytest.mark.parametrize("word", STOP_VARIANTS)
def test_every_stop_variant_opts_out_and_confirms_once(word, make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, word)
    run_worker()
    client = db.session.get(Client, ann.id)
    assert client.opted_out and client.opted_out_at is not None
    texts = phone_texts(ann.mobile)
    assert len(texts) == 1 and "unsubscribed" in texts[0]
    assert "client.opted_out" in [e.action for e in history(client_id=ann.id)]


def test_a_second_stop_sends_no_second_confirmation(make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "STOP")
    run_worker()
    redis().delete(guard_key(ann.mobile))
    send_reply(ann.mobile, "stop")
    run_worker()
    assert len(phone_texts(ann.mobile)) == 1


def test_a_sentence_containing_stop_is_no_opt_out(make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "Please don't stop the reminders")
    run_worker()
    assert not db.session.get(Client, ann.id).opted_out


def test_stop_skips_queued_and_scheduled_texts_already_in_redis(make_client, run_worker):
    ann, bob = make_client(mobile="+12025550001"), make_client(mobile="+12025550002")
    now_msg = queued_text(ann, "Due now")
    later = queued_text(ann, "Scheduled", send_at=utcnow() + timedelta(hours=1))
    other = queued_text(bob, "For Bob")
    assert len(queue("default").scheduled_job_registry) == 1
    # The inbound job runs first (high queue); the delivery jobs find nothing left to send.
    send_reply(ann.mobile, "STOP")
    run_worker(queues=["high"])
    for message in (now_msg, later):
        db.session.refresh(message)
        assert (message.status, message.reason) == (Status.SKIPPED, "Opted out")
    run_worker()
    scheduled_time_comes()
    run_worker()
    assert phone_texts(ann.mobile) == [phone_texts(ann.mobile)[0]]
    assert "unsubscribed" in phone_texts(ann.mobile)[0]
    assert phone_texts(bob.mobile) == ["For Bob"]
    db.session.refresh(other)
    assert other.status in (Status.SENT, Status.DELIVERED)


def test_delivery_rechecks_opt_out_for_a_message_it_already_loaded(make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    message = queued_text(ann, "Reminder")
    # Opted out by another path (the client card) without touching the queued row.
    ann.opted_out, ann.opted_out_at = True, utcnow()
    db.session.commit()
    run_worker()
    db.session.refresh(message)
    assert (message.status, message.reason) == (Status.SKIPPED, "Opted out")
    assert phone_texts(ann.mobile) == []


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_or_yes_after_stop_resubscribes_and_confirms(word, make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "STOP")
    run_worker()
    send_reply(ann.mobile, word)
    run_worker()
    client = db.session.get(Client, ann.id)
    assert not client.opted_out and client.opted_out_at is None
    texts = phone_texts(ann.mobile)
    assert len(texts) == 2 and "subscribed again" in texts[1]


def test_compose_refuses_an_opted_out_client_with_a_clear_reason(make_client, make_user,
                                                                run_worker, client_for):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "STOP")
    run_worker()
    with pytest.raises(compose.ComposeError, match="opted out"):
        compose.create_broadcast(actor=make_user(), channel="sms",
                                 recipients={"client_id": ann.id}, body="Hello")


def test_help_answers_with_business_name_and_phone(make_client, run_worker):
    from core import settings

    settings.set("business_name", "Bright Smiles Dental")
    settings.set("business_phone", "+1 202 555 0100")
    db.session.commit()
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "help")
    run_worker()
    [answer] = phone_texts(ann.mobile)
    assert "Bright Smiles Dental" in answer and "+1 202 555 0100" in answer
    assert not db.session.get(Client, ann.id).opted_out


def test_stop_skips_a_scheduled_broadcast_whose_fan_out_waits_in_redis(make_client, make_user,
                                                                      run_worker):
    ann = make_client(mobile="+12025550001")
    broadcast = compose.create_broadcast(
        actor=make_user(), channel="sms", recipients={"client_id": ann.id},
        body="Snow day tomorrow", send_at=utcnow() + timedelta(hours=1))
    assert len(queue("default").scheduled_job_registry) == 1
    send_reply(ann.mobile, "Stop.")
    run_worker(queues=["high", "default"])
    scheduled_time_comes()
    run_worker()
    [message] = db.session.scalars(select(Message).where(
        Message.broadcast_id == broadcast.id)).all()
    assert (message.status, message.reason) == (Status.SKIPPED, "Opted out")
    assert len(phone_texts(ann.mobile)) == 1 and "unsubscribed" in phone_texts(ann.mobile)[0]


def test_a_staff_picture_reply_goes_as_mms(make_client, make_user, run_worker):
    import base64

    from core.conversations.operations import reply
    from core.messaging.attachments import Upload

    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                           "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    ann = make_client(mobile="+12025550001")
    broadcast = reply(ann.id, "Here is the map", actor=make_user(),
                      images=[Upload("map.png", png)])
    assert broadcast.channel == "mms"
    run_worker()
    assert phone_texts(ann.mobile) == ["Here is the map"]


def test_stop_opts_out_every_client_sharing_the_number_and_start_brings_them_back(
        make_client, run_worker):
    mum = make_client(first_name="Mum", mobile="+12025550001")
    kid = make_client(first_name="Kid", mobile="+12025550001")
    waiting = queued_text(kid, "Kid's reminder")
    send_reply(mum.mobile, "STOP")
    run_worker()
    assert all(db.session.get(Client, c.id).opted_out for c in (mum, kid))
    db.session.refresh(waiting)
    assert (waiting.status, waiting.reason) == (Status.SKIPPED, "Opted out")
    assert len(phone_texts(mum.mobile)) == 1  # one confirmation for the phone
    send_reply(mum.mobile, "start")
    run_worker()
    assert not any(db.session.get(Client, c.id).opted_out for c in (mum, kid))


def test_help_is_answered_even_when_opted_out_and_after_another_auto_response(
        make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "STOP")
    run_worker()
    send_reply(ann.mobile, "HELP")
    run_worker()
    texts = phone_texts(ann.mobile)
    assert len(texts) == 2 and "Reply STOP" in texts[1]
    assert db.session.get(Client, ann.id).opted_out  # HELP does not resubscribe
