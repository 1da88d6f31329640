"""Vonage webhooks end to end: signature checked, receipts applied once, replies stored once."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.messaging.models import Direction, Message, MessageEvent, MessagePart, Status
from tests.vonage_webhooks.conftest import post_json, sign

RECEIPT = "/webhooks/vonage/sms/receipt"
INBOUND = "/webhooks/vonage/sms/inbound"
STATUS = "/webhooks/vonage/messages/status"
MESSAGES_INBOUND = "/webhooks/vonage/messages/inbound"
VOICE = "/webhooks/vonage/voice/event"


@pytest.fixture
def sent(app):
    """Factory: an outbound message Vonage accepted (status sent)."""

    def make(provider_id="0B00000012345678", channel="sms", **kw) -> Message:
        values = {"direction": Direction.OUT, "channel": channel, "to_addr": "+12025550147",
                  "body": "Reminder", "status": Status.SENT, "provider": "vonage",
                  "provider_id": provider_id, "sent_at": datetime.now(UTC)}
        values.update(kw)
        message = Message(**values)
        db.session.add(message)
        db.session.commit()
        return message

    return make


def _dlr(provider_id="0B00000012345678", status="delivered", **extra) -> dict:
    params = {"msisdn": "12025550147", "to": "12025550100", "network-code": "310260",
              "messageId": provider_id, "price": "0.00790000", "status": status,
              "scts": "2601150930", "err-code": "0", "api-key": "abcd1234",
              "message-timestamp": "2026-01-15 09:30:12"}
    params.update(extra)
    return sign(params)


def _events(message_id: int, status: str) -> int:
    query = select(func.count()).select_from(MessageEvent).where(
        MessageEvent.message_id == message_id, MessageEvent.status == status)
    return db.session.scalar(query)


def _reload(message: Message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def test_signed_receipt_delivers_the_message(client, signed_webhooks, sent):
    message = sent()
    response = client.post(RECEIPT, data=_dlr())
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    message = _reload(message)
    assert message.status == Status.DELIVERED
    # message-timestamp (UTC); scts stays in the history as written
    assert message.delivered_at == datetime(2026, 1, 15, 9, 30, 12, tzinfo=UTC)


def test_replayed_receipt_is_applied_once(client, signed_webhooks, sent):
    message = sent()
    params = _dlr()
    assert {client.post(RECEIPT, data=params).status_code for _ in range(10)} == {200}
    assert _events(message.id, Status.DELIVERED) == 1


@pytest.mark.parametrize("change", [
    {"sig": "ab" * 32}, {"status": "failed"}, {"timestamp": "1000000000"},
])
def test_bad_or_expired_signature_is_refused_and_changes_nothing(client, signed_webhooks,
                                                                 sent, change):
    message = sent()
    response = client.post(RECEIPT, data={**_dlr(), **change})
    assert response.status_code == 403
    assert _reload(message).status == Status.SENT
    assert db.session.scalar(select(func.count()).select_from(MessageEvent)) == 0


@pytest.mark.parametrize("unsigned", [{"sig": ""}, {"sig": None}])
def test_an_unsigned_receipt_is_answered_for_a_retry_and_changes_nothing(
        client, signed_webhooks, sent, unsigned):
    """Vonage may send a callback unsigned after an internal error; a 5xx makes it retry."""
    message = sent()
    params = {k: v for k, v in {**_dlr(), **unsigned}.items() if v is not None}
    response = client.post(RECEIPT, data=params)
    assert response.status_code == 503 and "retries" in response.get_data(as_text=True)
    assert _reload(message).status == Status.SENT
    assert db.session.scalar(select(func.count()).select_from(MessageEvent)) == 0
    assert client.post(RECEIPT, data=_dlr()).status_code == 200  # the signed retry applies
    assert _reload(message).status == Status.DELIVERED


def test_without_a_signature_secret_webhooks_are_refused_for_retry(client, app, sent):
    message = sent()
    response = client.post(RECEIPT, data=_dlr())
    assert response.status_code == 503
    assert _reload(message).status == Status.SENT


def test_receipt_by_get_and_by_json(client, signed_webhooks, sent):
    first, second = sent("ID-GET"), sent("ID-JSON")
    assert client.get(RECEIPT, query_string=_dlr("ID-GET")).status_code == 200
    assert client.post(RECEIPT, json=_dlr("ID-JSON", status="expired", **{"err-code": "1"}))\
        .status_code == 200
    assert _reload(first).status == Status.DELIVERED
    second = _reload(second)
    assert second.status == Status.EXPIRED and "the network gave no reason" in second.reason


def test_failed_receipt_gives_a_plain_reason(client, signed_webhooks, sent):
    message = sent()
    client.post(RECEIPT, data=_dlr(status="failed", **{"err-code": "6"}))
    message = _reload(message)
    assert message.status == Status.FAILED
    assert message.reason == "Blocked by the network's spam filter (failed, code 6)"


def test_receipt_settles_a_message_whose_send_outcome_was_unknown(client, signed_webhooks, sent):
    """The send broke mid-way (no provider id); the receipt's client-ref finds it."""
    message = sent(provider_id=None, status=Status.RECONCILE, sent_at=None)
    client.post(RECEIPT, data=_dlr("0C00000099999999", **{"client-ref": str(message.id)}))
    message = _reload(message)
    assert (message.status, message.provider_id) == (Status.DELIVERED, "0C00000099999999")


def test_multipart_is_delivered_when_every_part_is(client, signed_webhooks, sent):
    message = sent("P1", segments=2)
    db.session.add_all([MessagePart(message_id=message.id, seq=1, provider_id="P1"),
                        MessagePart(message_id=message.id, seq=2, provider_id="P2")])
    db.session.commit()
    client.post(RECEIPT, data=_dlr("P2"))
    assert _reload(message).status == Status.SENT
    client.post(RECEIPT, data=_dlr("P1"))
    assert _reload(message).status == Status.DELIVERED


def _text(**extra) -> dict:
    params = {"msisdn": "12025550147", "to": "12025550100", "messageId": "1E0000001",
              "text": "YES see you then", "type": "text", "keyword": "YES",
              "api-key": "abcd1234", "message-timestamp": "2026-01-15 09:31:00"}
    params.update(extra)
    return sign(params)


def _inbound() -> list[Message]:
    query = select(Message).where(Message.direction == Direction.IN)
    return list(db.session.scalars(query))


def test_inbound_text_is_stored_once_however_often_it_is_replayed(client, signed_webhooks):
    params = _text()
    assert {client.post(INBOUND, data=params).status_code for _ in range(10)} == {200}
    [message] = _inbound()
    assert (message.from_addr, message.body, message.provider) == (
        "+12025550147", "YES see you then", "vonage")
    assert message.created_at == datetime(2026, 1, 15, 9, 31, tzinfo=UTC)


def test_forged_inbound_text_stores_nothing(client, signed_webhooks):
    assert client.post(INBOUND, data={**_text(), "text": "STOP"}).status_code == 403
    assert client.post(INBOUND, data={k: v for k, v in _text().items() if k != "sig"})\
        .status_code == 503  # unsigned: Vonage retries it, signed
    assert _inbound() == []


def test_long_inbound_text_waits_for_all_parts(client, signed_webhooks):
    concat = {"concat": "true", "concat-ref": "77", "concat-total": "2"}
    second = _text(messageId="PART2", text="world.", **concat, **{"concat-part": "2"})
    first = _text(messageId="PART1", text="Hello ", **concat, **{"concat-part": "1"})
    assert client.post(INBOUND, data=second).status_code == 200
    assert _inbound() == []
    assert client.post(INBOUND, data=first).status_code == 200
    [message] = _inbound()
    assert (message.body, message.provider_id) == ("Hello world.", "PART1")


def _status(uuid="aaaaaaaa-0000-4000-8000-000000000001", status="delivered", **extra) -> dict:
    payload = {"message_uuid": uuid, "to": "12025550147", "from": "12025550100",
               "timestamp": "2026-01-15T09:30:00.000Z", "status": status, "channel": "mms"}
    payload.update(extra)
    return payload


def test_messages_api_status_with_jwt(client, signed_webhooks, sent):
    ok, bad = sent("aaaaaaaa-0000-4000-8000-000000000001", "mms"), sent("bbbb", "mms")
    assert post_json(client, STATUS, _status()).status_code == 200
    error = {"type": "https://developer.vonage.com/api-errors/messages#1310", "title": 1310,
             "detail": "The destination does not support MMS"}
    assert post_json(client, STATUS, _status("bbbb", "rejected", error=error)).status_code == 200
    assert _reload(ok).status == Status.DELIVERED
    bad = _reload(bad)
    assert bad.status == Status.FAILED and bad.reason == (
        "The recipient's device cannot receive this message: The destination does not support MMS")


@pytest.mark.parametrize("forgery", [
    {"secret": "some-other-secret-0000000000000000"}, {"exp": 1_000_000_000},
    {"payload_hash": "0" * 64},
])
def test_forged_or_expired_jwt_is_refused(client, signed_webhooks, sent, forgery):
    message = sent("aaaaaaaa-0000-4000-8000-000000000001", "mms")
    assert post_json(client, STATUS, _status(), **forgery).status_code == 403
    assert client.post(STATUS, json=_status()).status_code == 503  # unsigned: for a retry
    assert _reload(message).status == Status.SENT


def test_messages_api_inbound_picture_is_stored_once(client, signed_webhooks):
    payload = {"channel": "mms", "message_uuid": "cccc-1", "to": "12025550100",
               "from": "12025550147", "timestamp": "2026-01-15T09:35:00Z",
               "message_type": "image",
               "image": {"url": "https://api.nexmo.com/v3/media/1", "caption": "My rash"}}
    for _ in range(3):
        assert post_json(client, MESSAGES_INBOUND, payload).status_code == 200
    [message] = _inbound()
    assert message.channel == "mms"
    assert message.body == "My rash\n[image] https://api.nexmo.com/v3/media/1"


def test_call_events_settle_voice_messages(client, signed_webhooks, sent):
    answered, busy = sent("call-1", "voice"), sent("call-2", "voice")
    for uuid, status in (("call-1", "ringing"), ("call-1", "answered"), ("call-2", "busy")):
        payload = {"uuid": uuid, "conversation_uuid": "CON-1", "status": status,
                   "direction": "outbound", "timestamp": "2026-01-15T09:40:00.000Z"}
        assert post_json(client, VOICE, payload).status_code == 200
    assert _reload(answered).status == Status.DELIVERED
    busy = _reload(busy)
    assert busy.status == Status.FAILED and busy.reason == "The line was busy"


def test_webhooks_need_no_csrf_token(app, client, signed_webhooks, sent):
    app.config["WTF_CSRF_ENABLED"] = True
    message = sent()
    assert client.post(RECEIPT, data=_dlr()).status_code == 200
    assert _reload(message).status == Status.DELIVERED


def test_many_webhooks_read_the_signature_settings_once(client, signed_webhooks, query_counter):
    with query_counter() as statements:
        for n in range(5):
            assert client.post(INBOUND, data=_text(messageId=f"0B000000{n}")).status_code == 200
    # Once for the signature settings and once for the inbound price, not once per webhook.
    assert sum(1 for sql in statements if "FROM settings" in sql) == 2
