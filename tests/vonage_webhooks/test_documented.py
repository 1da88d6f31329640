"""Vonage's documented webhook payloads (tests/vonage_webhooks/payloads.py), each signed as
Vonage signs it and sent twice: the second changes nothing."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.messaging.models import Direction, Message, MessageEvent, MessagePart, Status
from tests.vonage_webhooks import payloads as p
from tests.vonage_webhooks.conftest import post_json, sign
from tests.vonage_webhooks.test_routes import INBOUND, MESSAGES_INBOUND, RECEIPT, STATUS, VOICE


@pytest.fixture
def sent(app):
    """Factory: an outbound message Vonage accepted, with the id a payload names."""

    def make(provider_id: str, channel: str = "sms", **kw) -> Message:
        message = Message(direction=Direction.OUT, channel=channel, to_addr="+447700900000",
                          body="Reminder", status=Status.SENT, provider="vonage",
                          provider_id=provider_id, sent_at=datetime(2017, 1, 1, tzinfo=UTC),
                          cost=Decimal("0.05"), **kw)
        db.session.add(message)
        db.session.commit()
        return message

    return make


def _twice(send) -> None:
    assert [send().status_code for _ in range(2)] == [200, 200]


def _reload(message: Message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def _history(message: Message) -> list[tuple[str, str, str]]:
    query = (select(MessageEvent.status, MessageEvent.code, MessageEvent.detail)
             .where(MessageEvent.message_id == message.id).order_by(MessageEvent.id))
    return [tuple(row) for row in db.session.execute(query)]


@pytest.mark.parametrize(("payload", "timestamp", "scts"), [
    (p.DLR_GUIDE, datetime(2018, 10, 25, 12, 10, 29, tzinfo=UTC), "1810251310"),
    (p.DLR_REFERENCE, datetime(2020, 1, 1, 12, 0, 0, tzinfo=UTC), "2001011400"),
])
def test_documented_receipts_use_message_timestamp_and_store_the_price(
        client, signed_webhooks, sent, payload, timestamp, scts):
    message = sent(payload["messageId"])
    params = sign(payload)
    _twice(lambda: client.post(RECEIPT, data=params))
    message = _reload(message)
    assert (message.status, message.delivered_at) == (Status.DELIVERED, timestamp)
    assert message.cost == Decimal("0.0333")
    assert _history(message) == [("delivered", "0", f"delivered (network time scts={scts})")]


def test_a_receipt_in_json_with_an_iso_timestamp(client, signed_webhooks, sent):
    message = sent(p.DLR_REFERENCE["messageId"])
    payload = sign({**p.DLR_REFERENCE, "message-timestamp": "2020-01-01T12:00:00.000+00:00"})
    _twice(lambda: client.post(RECEIPT, json=payload))
    assert _reload(message).delivered_at == datetime(2020, 1, 1, 12, tzinfo=UTC)


def test_each_part_of_a_long_text_is_priced_and_the_message_costs_their_sum(
        client, signed_webhooks, sent):
    message = sent("PART-A", segments=2)
    db.session.add_all([MessagePart(message_id=message.id, seq=1, provider_id="PART-A"),
                        MessagePart(message_id=message.id, seq=2, provider_id="PART-B")])
    db.session.commit()
    first = sign({**p.DLR_REFERENCE, "messageId": "PART-A"})
    _twice(lambda: client.post(RECEIPT, data=first))
    assert _reload(message).cost == Decimal("0.05")  # one part priced: the estimate stays
    second = sign({**p.DLR_REFERENCE, "messageId": "PART-B", "price": "0.04000000"})
    _twice(lambda: client.post(RECEIPT, data=second))
    message = _reload(message)
    assert (message.status, message.cost) == (Status.DELIVERED, Decimal("0.0733"))


def test_documented_inbound_json_keeps_its_iso_arrival_time(client, signed_webhooks):
    whole = {**p.INBOUND_REFERENCE}
    for key in ("concat", "concat-ref", "concat-total", "concat-part"):
        whole.pop(key)
    payload = sign(whole)
    _twice(lambda: client.post(INBOUND, json=payload))
    [message] = db.session.scalars(select(Message).where(Message.direction == Direction.IN))
    assert (message.body, message.from_addr) == ("Hello world", "+447700900001")
    assert message.created_at == datetime(2020, 1, 1, 12, tzinfo=UTC)


def test_documented_inbound_with_a_space_before_the_offset(client, signed_webhooks):
    payload = sign({"api-key": "abcd1234", "msisdn": "447700900001", "to": "447700900000",
                    "messageId": "0A0000000123ABCD2", "text": "Hi", "type": "text",
                    "keyword": "HI", "message-timestamp": "2020-01-01 12:00:00 +0000"})
    _twice(lambda: client.post(INBOUND, data=payload))
    message = db.session.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert message.created_at == datetime(2020, 1, 1, 12, tzinfo=UTC)


def test_documented_messages_status_stores_usage_price(client, signed_webhooks, sent):
    message = sent(p.MESSAGES_STATUS_SMS["message_uuid"])
    _twice(lambda: post_json(client, STATUS, p.MESSAGES_STATUS_SMS))
    message = _reload(message)
    assert (message.status, message.cost) == (Status.DELIVERED, Decimal("0.0333"))
    assert message.delivered_at == datetime(2020, 1, 1, 14, 0, 3, 10000, tzinfo=UTC)


def test_documented_messages_rejection_names_the_error(client, signed_webhooks, sent):
    message = sent(p.MESSAGES_STATUS_REJECTED["message_uuid"], "mms")
    _twice(lambda: post_json(client, STATUS, p.MESSAGES_STATUS_REJECTED))
    message = _reload(message)
    assert message.status == Status.FAILED
    assert message.reason.startswith("Sent faster than the account allows: Throttled - You")
    assert [code for _, code, _ in _history(message)] == ["1000"]


def test_documented_inbound_mms_is_stored_once(client, signed_webhooks):
    _twice(lambda: post_json(client, MESSAGES_INBOUND, p.MESSAGES_INBOUND_MMS))
    count = select(func.count()).select_from(Message).where(Message.direction == Direction.IN)
    assert db.session.scalar(count) == 1


def test_a_call_answered_by_voicemail_says_so(client, signed_webhooks, sent):
    """The machine event names the call `call_uuid`; the call stays delivered and says how."""
    call = sent(p.CALL, "voice")
    for payload in (p.VOICE_STARTED, p.VOICE_ANSWERED, p.VOICE_MACHINE, p.VOICE_COMPLETED):
        _twice(lambda payload=payload: post_json(client, VOICE, payload))
    call = _reload(call)
    assert (call.status, call.reason) == (Status.DELIVERED, "Answered by voicemail")
    assert call.cost == Decimal("0.00015")
    assert [code for _, code, _ in _history(call)] == ["answered", "machine"]


def test_a_call_answered_by_a_person_records_it(client, signed_webhooks, sent):
    call = sent(p.CALL, "voice")
    _twice(lambda: post_json(client, VOICE, p.VOICE_HUMAN))  # before "answered" arrives
    _twice(lambda: post_json(client, VOICE, p.VOICE_ANSWERED))
    call = _reload(call)
    assert (call.status, call.reason) == (Status.DELIVERED, "Answered by a person")
    assert _history(call) == [("delivered", "human", "Answered by a person")]


def test_a_machine_event_without_any_call_id_is_refused(client, signed_webhooks, sent):
    payload = {k: v for k, v in p.VOICE_MACHINE.items() if k != "call_uuid"}
    assert post_json(client, VOICE, payload).status_code == 400


def test_a_rejected_call_keeps_vonages_detail(client, signed_webhooks, sent):
    call = sent(p.CALL, "voice")
    _twice(lambda: post_json(client, VOICE, p.VOICE_REJECTED))
    call = _reload(call)
    assert (call.status, call.reason) == (Status.FAILED, "Call rejected: restricted")
