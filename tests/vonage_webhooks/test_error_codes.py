"""Every error code Vonage documents, one test each: the SMS API receipt `err-code` table and
the Messages API error list, read from core/providers/vonage_errors.py."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.audit.models import AuditEvent
from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Direction, Message, Status
from core.providers.vonage_errors import MESSAGES_ERRORS, OPTED_OUT, RECEIPT_ERRORS
from tests.vonage_webhooks import payloads as p
from tests.vonage_webhooks.conftest import post_json, sign
from tests.vonage_webhooks.test_routes import RECEIPT, STATUS

# developer.vonage.com/messaging/sms/guides/delivery-receipts, "DLR error codes"
DOCUMENTED_RECEIPT_CODES = {str(n) for n in [*range(0, 17), 50, 51, 52, 53, 54, 99]}
# developer.vonage.com/api-errors/messages, and the Nexmo Messages API asynchronous errors
DOCUMENTED_MESSAGES_CODES = {str(n) for n in [*range(1000, 1101, 10), 1021, 1022,
                                               *range(1110, 1371, 10), 1241]}


def test_the_tables_hold_every_documented_code_and_no_other():
    assert set(RECEIPT_ERRORS) == DOCUMENTED_RECEIPT_CODES
    assert set(MESSAGES_ERRORS) == DOCUMENTED_MESSAGES_CODES


def test_code_9_means_an_opt_out_and_10_a_parameter_error():
    assert RECEIPT_ERRORS["9"].opt_out and RECEIPT_ERRORS["9"].reason == OPTED_OUT
    assert "parameter" in RECEIPT_ERRORS["10"].reason and "encoding" in RECEIPT_ERRORS["10"].reason
    assert [c for c, e in RECEIPT_ERRORS.items() if e.opt_out] == ["9"]
    assert [c for c, e in MESSAGES_ERRORS.items() if e.opt_out] == ["1240"]


@pytest.fixture
def outbound(app):
    def make(provider_id, channel="sms") -> Message:
        client = Client(first_name="Ann", last_name="Lee", mobile="+447700900000")
        db.session.add(client)
        db.session.flush()
        message = Message(direction=Direction.OUT, channel=channel, to_addr=client.mobile,
                          client_id=client.id, body="Reminder", status=Status.SENT,
                          provider="vonage", provider_id=provider_id,
                          sent_at=datetime(2017, 1, 1, tzinfo=UTC))
        db.session.add(message)
        db.session.commit()
        return message

    return make


def _after(message: Message) -> tuple[Message, Client]:
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    return message, db.session.get(Client, message.client_id)


@pytest.mark.parametrize("code", sorted(RECEIPT_ERRORS, key=int))
def test_each_receipt_error_code(client, signed_webhooks, outbound, code):
    message = outbound("0A0000001234567B")
    state = "delivered" if code == "0" else "failed"
    params = sign({**p.DLR_REFERENCE, "status": state, "err-code": code})
    assert [client.post(RECEIPT, data=params).status_code for _ in range(2)] == [200, 200]
    message, person = _after(message)
    error = RECEIPT_ERRORS[code]
    if code == "0":
        assert (message.status, message.reason) == (Status.DELIVERED, "")
    else:
        assert message.status == Status.FAILED
        assert message.reason == f"{error.reason} (failed, code {code})"
    assert person.opted_out is (code == "9")


@pytest.mark.parametrize("code", sorted(MESSAGES_ERRORS, key=int))
def test_each_messages_api_error_code(client, signed_webhooks, outbound, code):
    message = outbound(p.MESSAGES_STATUS_REJECTED["message_uuid"], "mms")
    error = {"type": f"https://developer.vonage.com/api-errors/messages#{code}",
             "title": code, "detail": MESSAGES_ERRORS[code].name}
    payload = {**p.MESSAGES_STATUS_REJECTED, "error": error}
    assert [post_json(client, STATUS, payload).status_code for _ in range(2)] == [200, 200]
    message, person = _after(message)
    known = MESSAGES_ERRORS[code]
    assert message.status == Status.FAILED
    assert message.reason == f"{known.reason}: {known.name}"[:300]
    assert person.opted_out is (code == "1240")


def test_an_opt_out_receipt_skips_queued_texts_without_a_confirmation(client, signed_webhooks,
                                                                       outbound):
    message = outbound("0A0000001234567B")
    queued = Message(direction=Direction.OUT, channel="sms", to_addr="+447700900000",
                     client_id=message.client_id, body="Later", status=Status.QUEUED)
    db.session.add(queued)
    db.session.commit()
    params = sign({**p.DLR_REFERENCE, "status": "failed", "err-code": "9"})
    assert client.post(RECEIPT, data=params).status_code == 200
    db.session.expire_all()
    assert db.session.get(Message, queued.id).status == Status.SKIPPED
    outgoing = select(Message).where(Message.direction == Direction.OUT,
                                     Message.status == Status.QUEUED)
    assert list(db.session.scalars(outgoing)) == []  # no STOP confirmation queued
    [audit] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "client.opted_out"))
    assert "asked not to receive messages from this service" in audit.summary


def test_an_unlisted_code_fails_with_vonages_words(client, signed_webhooks, outbound):
    message = outbound(p.MESSAGES_STATUS_REJECTED["message_uuid"], "mms")
    error = {"type": "https://developer.vonage.com/api-errors/messages#1999", "title": "1999",
             "detail": "Something new"}
    post_json(client, STATUS, {**p.MESSAGES_STATUS_REJECTED, "error": error})
    message, _ = _after(message)
    assert (message.status, message.reason) == (Status.FAILED, "Something new")
