"""The simulator provider: what lands on the phone, what it answers, and its receipt job."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from core.extensions import db
from core.jobs import queue
from core.providers.base import Outgoing, PermanentError
from core.simulator.models import SimMessage
from core.simulator.provider import SimulatorProvider


def _send(**fields):
    result = SimulatorProvider().send(Outgoing(**{"message_id": 41, "channel": "sms", **fields}))
    db.session.commit()
    return result


def _stored(provider_id):
    return db.session.scalar(select(SimMessage).where(SimMessage.provider_id == provider_id))


def test_sms_lands_on_the_phone_and_is_billed_per_segment(app):
    result = _send(to="+12025550123", body="Your visit is tomorrow at 9.", sender="+12025559999")
    row = _stored(result.provider_id)
    assert (row.address, row.channel, row.incoming) == ("+12025550123", "sms", True)
    assert row.body == "Your visit is tomorrow at 9."
    assert (row.sender, row.client_ref) == ("+12025559999", "41")
    assert len(result.provider_id) == 32
    assert (result.segments, result.cost) == (1, Decimal("0.0079"))


def test_long_and_unicode_texts_count_their_segments(app):
    assert _send(to="+12025550123", body="x" * 161).segments == 2
    result = _send(to="+12025550123", body="Réponse ✓ " * 10)
    assert result.segments == 2
    assert result.cost == Decimal("0.0158")


def test_email_keeps_subject_and_costs_nothing(app):
    result = _send(channel="email", to="Ann@Example.com", subject="Snow day", body="Closed.",
                   media_urls=("/media/1/notice.pdf",))
    row = _stored(result.provider_id)
    assert (row.address, row.subject, row.body) == ("ann@example.com", "Snow day", "Closed.")
    assert row.media == ["/media/1/notice.pdf"] and row.media_url == "/media/1/notice.pdf"
    assert result.cost == Decimal("0")


def test_voice_call_keeps_its_recording(app):
    result = _send(channel="voice", to="+12025550123", body="", audio_url="/media/2/call.mp3")
    row = _stored(result.provider_id)
    assert (row.channel, row.media_url) == ("voice", "/media/2/call.mp3")


@pytest.mark.parametrize(
    "fields, reason, code",
    [
        ({"to": "+12025550000", "body": "hi"}, "Invalid destination number", "3"),
        ({"to": "+12025550000", "channel": "voice"}, "Invalid destination number", "3"),
        ({"to": "fail@example.com", "channel": "email"}, "Invalid destination address", "3"),
        ({"to": "+12025550123", "body": ""}, "Missing message text", "2"),
    ],
)
def test_failure_addresses_are_refused_permanently(app, fields, reason, code):
    with pytest.raises(PermanentError) as caught:
        channel = fields.pop("channel", "sms")
        SimulatorProvider().send(Outgoing(message_id=7, channel=channel, **fields))
    assert (caught.value.reason, caught.value.code) == (reason, code)
    db.session.commit()
    assert db.session.scalar(select(func.count(SimMessage.id))) == 0
    assert ScheduledJobRegistry(queue=queue("default")).count == 0


def test_a_delivery_receipt_is_scheduled(app):
    app.config["SIMULATOR_RECEIPT_DELAY"] = 30
    before = datetime.now(UTC)
    result = _send(to="+12025550123", body="hello")
    registry = ScheduledJobRegistry(queue=queue("default"))
    [job_id] = registry.get_job_ids()
    job = queue("default").fetch_job(job_id)
    assert job.func_name == "core.simulator.tasks.deliver_receipt"
    assert job.args == (result.provider_id,)
    due = registry.get_scheduled_time(job)
    assert before + timedelta(seconds=29) <= due <= datetime.now(UTC) + timedelta(seconds=31)


def test_a_sent_message_is_on_the_phone_whatever_the_pipeline_does_next(app):
    """Like a real provider, the phone has the text once the send answered: a rollback of the
    caller's transaction (a crash before the record) does not take it back."""
    SimulatorProvider().send(Outgoing(message_id=1, channel="sms", to="+12025550123", body="x"))
    db.session.rollback()
    assert db.session.scalars(select(SimMessage.body)).all() == ["x"]
