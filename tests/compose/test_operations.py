"""Compose operations: each bad input refused with its message and nothing written; good ones go."""

from datetime import timedelta

import pytest

from core.audit.models import AuditEvent
from core.extensions import db
from core.messaging import attachments as files
from core.messaging.attachments import Attachment, Upload
from core.messaging.compose import ComposeError, cancel_scheduled, create_broadcast, edit_scheduled
from core.messaging.models import Broadcast, Message
from core.types import utcnow
from tests.compose.files import jpeg, mp3


@pytest.fixture
def actor(make_user):
    from core.auth.models import Role

    return make_user(Role.EDIT)


def _create(actor, **kw):
    values = {"channel": "sms", "subject": "", "body": "Hi {{ first_name }}", "send_at": None,
              "attachments": []}
    values.update(kw)
    return create_broadcast(actor=actor, **values)


def _nothing_written():
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0
    return True


@pytest.mark.parametrize("kw, message", [
    ({"body": "   "}, "Write a message: the text is empty."),
    ({"body": "x" * 1601}, "The message is 1,601 characters once merged for the longest "
                           "recipient; a text may be at most 1,600. Shorten it."),
    ({"body": "{{ ''.__class__ }}"}, "Only {{ field }} merge fields are allowed; loops, "
                                     "conditions and attribute access are not."),
    ({"channel": "email", "subject": ""}, "Write a subject for the email."),
    ({"channel": "voice", "body": ""}, "Write the text to speak, or upload an MP3 or WAV "
                                       "recording."),
    ({"channel": "mms"}, "Attach at least one picture to a picture message, or choose Text."),
    ({"channel": "fax"}, "Choose how to send: text, picture message, email or call."),
])
def test_bad_input_is_refused_with_its_message(app, actor, make_client, kw, message):
    with pytest.raises(ComposeError) as refused:
        _create(actor, recipients={"client_id": make_client().id}, **kw)
    assert str(refused.value) == message
    assert _nothing_written()


def test_merged_length_counts_the_longest_recipient(app, actor, make_client, make_appointment):
    short, long = make_client(first_name="Al"), make_client(first_name="Bartholomew")
    ids = [make_appointment(client=short).id, make_appointment(client=long).id]
    body = "x" * 1590 + "{{ first_name }}"  # 1,592 for Al, 1,601 for Bartholomew
    with pytest.raises(ComposeError, match="1,601 characters once merged"):
        _create(actor, recipients={"appointment_ids": ids}, body=body)
    assert _nothing_written()


def test_a_time_in_the_past_is_refused_with_a_minute_of_grace(app, actor, make_client):
    person = {"client_id": make_client().id}
    with pytest.raises(ComposeError, match=r"The scheduled time \(.*\) has passed"):
        _create(actor, recipients=person, send_at=utcnow() - timedelta(minutes=5))
    assert _nothing_written()
    sent = _create(actor, recipients=person, send_at=utcnow() - timedelta(seconds=30))
    assert sent.status == "pending"


def test_a_typed_address_is_checked_for_the_channel(app, actor):
    with pytest.raises(ComposeError, match="is not a valid phone number"):
        _create(actor, recipients={"address": "+1 202 555"})
    with pytest.raises(ComposeError, match="landline or service number"):
        _create(actor, recipients={"address": "+44 20 7183 8750"})
    with pytest.raises(ComposeError, match="is not an email address"):
        _create(actor, channel="email", subject="Hi", recipients={"address": "nobody@"})
    assert _nothing_written()
    sent = _create(actor, recipients={"address": "(202) 555-0143"})
    assert sent.recipients == {"address": "+12025550143"}


def test_no_one_reachable_is_refused(app, actor, make_client):
    opted_out = make_client(opted_out=True)
    with pytest.raises(ComposeError, match=r"No one can receive this \(opted out: 1\)"):
        _create(actor, recipients={"client_id": opted_out.id})
    with pytest.raises(ComposeError, match="No appointments are selected"):
        _create(actor, recipients={"appointment_ids": []})


def test_an_mp3_that_is_not_audio_is_refused(app, actor, make_client):
    with pytest.raises(ComposeError, match="“song.mp3” is not an MP3 or WAV recording"):
        _create(actor, channel="voice", body="", recipients={"client_id": make_client().id},
                attachments=[Upload("song.mp3", b"<html>not audio</html>")])
    assert _nothing_written()


def _stored_files() -> set:
    return set(files.folder().iterdir()) if files.folder().exists() else set()


def test_an_attachment_over_the_limit_is_refused(app, actor, make_client):
    before = _stored_files()
    with pytest.raises(ComposeError, match="“big.jpg” is 700 KB"):
        _create(actor, channel="mms", recipients={"client_id": make_client().id},
                attachments=[Upload("small.jpg", jpeg()), Upload("big.jpg", jpeg(700 * 1024))])
    assert _nothing_written()
    assert _stored_files() == before


def test_a_voice_call_with_a_recording(app, actor, make_client):
    sent = _create(actor, channel="voice", body="", recipients={"client_id": make_client().id},
                   attachments=[Upload("greeting.mp3", mp3())])
    [stored] = files.for_broadcast(sent.id)
    assert (stored.kind, stored.content_type) == ("audio", "audio/mpeg")
    assert files.path_of(stored).read_bytes() == mp3()
    assert files.urls_for_broadcast(sent.id)[1]


def test_create_writes_one_broadcast_and_an_audit_event(app, actor, make_client):
    person = make_client()
    sent = _create(actor, recipients={"client_id": person.id})
    assert (sent.channel, sent.body, sent.total, sent.created_by_id) == (
        "sms", "Hi {{ first_name }}", 1, actor.id)
    event = db.session.scalars(db.select(AuditEvent)).one()
    assert (event.action, event.client_id) == ("broadcast.created", person.id)
    assert "to 1 recipient(s), sends now" in event.summary


def test_cancel_a_scheduled_send(app, actor, make_client, run_worker):
    later = utcnow() + timedelta(hours=2)
    sent = _create(actor, recipients={"client_id": make_client().id}, send_at=later)
    assert sent.status == "scheduled"
    cancel_scheduled(sent.id, actor)
    assert db.session.get(Broadcast, sent.id).status == "cancelled"
    with pytest.raises(ComposeError, match="can no longer be cancelled"):
        cancel_scheduled(sent.id, actor)
    run_worker()
    assert db.session.scalars(db.select(Message)).all() == []


def test_edit_a_scheduled_send(app, actor, make_client):
    later = utcnow() + timedelta(hours=2)
    sent = _create(actor, recipients={"client_id": make_client().id}, send_at=later)
    edited = edit_scheduled(sent.id, actor=actor, body="New text",
                            send_at=later + timedelta(hours=1))
    assert (edited.body, edited.send_at) == ("New text", later + timedelta(hours=1))
    with pytest.raises(ComposeError, match="text is empty"):
        edit_scheduled(sent.id, actor=actor, body="", send_at=later)
    with pytest.raises(ComposeError, match="has passed"):
        edit_scheduled(sent.id, actor=actor, body="x", send_at=utcnow() - timedelta(hours=1))
    assert db.session.get(Broadcast, sent.id).body == "New text"


def test_a_send_that_went_cannot_be_edited(app, actor, make_client):
    sent = _create(actor, recipients={"client_id": make_client().id})
    with pytest.raises(ComposeError, match="can no longer be edited"):
        edit_scheduled(sent.id, actor=actor, body="Too late", send_at=None)
