"""Replies arriving through Vonage's webhooks: signed, stored once, answered in a job."""

import pytest
from sqlalchemy import select

from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from core.messaging.inbound import is_processed
from core.messaging.models import Direction, Message
from tests.vonage_webhooks.conftest import post_json, sign

SMS_INBOUND = "/webhooks/vonage/sms/inbound"
MESSAGES_INBOUND = "/webhooks/vonage/messages/inbound"


def _inbound() -> list[Message]:
    query = select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
    return list(db.session.scalars(query))


def _sms(text="STOP", message_id="0A0000001", **extra) -> dict:
    params = {"msisdn": "12025550001", "to": "12025550100", "messageId": message_id,
              "text": text, "type": "text", "keyword": text.split()[0].upper(),
              "message-timestamp": "2026-01-15 09:31:00"}
    params.update(extra)
    return sign(params)


def _mms(uuid="dddd-0001", text="Can I come at 4?") -> dict:
    return {"channel": "sms", "message_uuid": uuid, "to": "12025550100",
            "from": "12025550001", "timestamp": "2026-01-15T09:35:00Z",
            "message_type": "text", "text": text}


def test_a_signed_sms_is_stored_at_once_and_acted_on_by_the_worker(
        client, signed_webhooks, make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    assert client.post(SMS_INBOUND, data=_sms("STOP")).status_code == 200
    [message] = _inbound()
    # The webhook only stored it: the opt-out is the job's work.
    assert message.client_id == ann.id and not is_processed(message.id)
    assert not db.session.get(Client, ann.id).opted_out
    run_worker()
    assert db.session.get(Client, ann.id).opted_out and is_processed(message.id)


def test_a_stop_replayed_ten_times_is_one_message_and_one_confirmation(
        client, signed_webhooks, make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    params = _sms("STOP")
    for _ in range(10):
        assert client.post(SMS_INBOUND, data=params).status_code == 200
        run_worker()
    assert len(_inbound()) == 1
    confirmations = db.session.scalars(select(Message).where(
        Message.direction == Direction.OUT, Message.to_addr == ann.mobile)).all()
    assert len(confirmations) == 1 and "unsubscribed" in confirmations[0].body


def test_a_multipart_stop_is_reassembled_before_it_counts(client, signed_webhooks,
                                                         make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    concat = {"concat": "true", "concat-ref": "12", "concat-total": "2"}
    first = _sms("Please do not ", "P1", **concat, **{"concat-part": "1"})
    second = _sms("stop my texts", "P2", **concat, **{"concat-part": "2"})
    assert client.post(SMS_INBOUND, data=second).status_code == 200
    assert client.post(SMS_INBOUND, data=second).status_code == 200  # a retried part
    assert _inbound() == []
    assert client.post(SMS_INBOUND, data=first).status_code == 200
    [message] = _inbound()
    assert message.body == "Please do not stop my texts"
    run_worker()
    assert not db.session.get(Client, ann.id).opted_out


@pytest.mark.parametrize("forgery", [
    {"secret": "not-the-signature-secret-000000000"},  # bad signature
    {"iat": 1_000_000_000, "exp": 1_000_000_100},    # expired
    {"payload_hash": "0" * 64},                       # body changed after signing
])
def test_messages_inbound_with_a_bad_or_expired_jwt_stores_nothing(client, signed_webhooks,
                                                                  make_client, forgery):
    make_client(mobile="+12025550001")
    assert post_json(client, MESSAGES_INBOUND, _mms(), **forgery).status_code == 403
    assert client.post(MESSAGES_INBOUND, json=_mms()).status_code == 503  # no JWT: for a retry
    assert _inbound() == []


def test_messages_inbound_with_a_good_jwt_is_stored_once(client, signed_webhooks,
                                                         make_client):
    ann = make_client(mobile="+12025550001")
    for _ in range(10):
        assert post_json(client, MESSAGES_INBOUND, _mms()).status_code == 200
    [message] = _inbound()
    assert (message.client_id, message.body) == (ann.id, "Can I come at 4?")


def test_an_unknown_number_becomes_a_client_marked_unknown_sender(client, signed_webhooks,
                                                                  run_worker, client_for):
    assert client.post(SMS_INBOUND, data=_sms("Who is this?", msisdn="13105550199"))\
        .status_code == 200
    [message] = _inbound()
    stranger = db.session.get(Client, message.client_id)
    assert stranger.unknown_sender and stranger.mobile == "+13105550199"
    run_worker()
    listing = client_for(Role.READ_ONLY).get("/conversations/").get_data(as_text=True)
    assert "Who is this?" in listing and "Unknown sender" in listing


def test_a_bad_sms_signature_stores_nothing(client, signed_webhooks, make_client):
    make_client(mobile="+12025550001")
    forged = {**_sms("STOP"), "text": "START"}
    assert client.post(SMS_INBOUND, data=forged).status_code == 403
    unsigned = {k: v for k, v in _sms("STOP").items() if k != "sig"}
    assert client.post(SMS_INBOUND, data=unsigned).status_code == 503  # Vonage retries it
    expired = sign({k: v for k, v in _sms("STOP").items() if k not in ("sig", "timestamp")},
                   age=3 * 24 * 3600)
    assert client.post(SMS_INBOUND, data=expired).status_code == 403
    assert _inbound() == []
