"""Webhook payloads as Vonage documents them, one constant per example, with where it is from.

The SMS API examples leave out `timestamp`, `nonce` and `sig` (and the Messages / Voice API
ones carry no signature): the tests sign each payload as Vonage does, at the moment they send
it (conftest.sign / conftest.post_json). Numbers and ids are Vonage's own example values.
"""

# --- SMS API, delivery receipts ------------------------------------------------------------

# developer.vonage.com/messaging/sms/guides/delivery-receipts, "Understanding the delivery
# receipt" (a typical DLR). Its scts (13:10) is after its message-timestamp (12:10:29).
DLR_GUIDE = {
    "err-code": "0", "message-timestamp": "2018-10-25 12:10:29",
    "messageId": "0B00000127FDBC63", "msisdn": "447700900000", "network-code": "23410",
    "price": "0.03330000", "scts": "1810251310", "status": "delivered", "to": "Vonage",
}

# developer.vonage.com/api/sms#webhooks, delivery receipt example (also quoted in Vonage's
# SDK docs): scts 2001011400 is two hours after message-timestamp 12:00:00.
DLR_REFERENCE = {
    "msisdn": "447700900000", "to": "AcmeInc", "network-code": "12345",
    "messageId": "0A0000001234567B", "price": "0.03330000", "status": "delivered",
    "scts": "2001011400", "err-code": "0", "api-key": "abcd1234",
    "client-ref": "my-personal-reference", "message-timestamp": "2020-01-01 12:00:00",
}

# --- SMS API, inbound ------------------------------------------------------------------------

# developer.vonage.com/messaging/sms/guides/inbound-sms, "Anatomy of an inbound message" (the
# JSON form, with an ISO 8601 message-timestamp), part 2 of 3 of a long text.
INBOUND_REFERENCE = {
    "api-key": "abcd1234", "msisdn": "447700900001", "to": "447700900000",
    "messageId": "0A0000000123ABCD1", "text": "Hello world", "type": "text",
    "keyword": "HELLO", "message-timestamp": "2020-01-01T12:00:00.000+00:00",
    "concat": "true", "concat-ref": "1", "concat-total": "3", "concat-part": "2",
}

# --- Messages API ----------------------------------------------------------------------------

# developer.vonage.com/api/messages-olympus, message status webhook for SMS, with its usage.
MESSAGES_STATUS_SMS = {
    "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "to": "447700900000",
    "from": "447700900001", "timestamp": "2020-01-01T14:00:03.010Z", "status": "delivered",
    "usage": {"currency": "EUR", "price": "0.0333"}, "client_ref": "abc123", "channel": "sms",
}

# The same reference, a rejected status with its RFC 7807 error (code 1000, "Throttled").
MESSAGES_STATUS_REJECTED = {
    "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ac", "to": "447700900000",
    "from": "447700900001", "timestamp": "2020-01-01T14:00:03.010Z", "status": "rejected",
    "error": {"type": "https://developer.nexmo.com/api-errors/messages-olympus#1000",
              "title": 1000,
              "detail": "Throttled - You have exceeded the submission capacity allowed on "
                        "this account. Please wait and retry",
              "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"},
    "channel": "mms",
}

# The same reference, inbound MMS (an image with its caption).
MESSAGES_INBOUND_MMS = {
    "channel": "mms", "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ad",
    "to": "447700900000", "from": "447700900001", "timestamp": "2020-01-01T14:00:00.000Z",
    "message_type": "image",
    "image": {"url": "https://example.com/image.jpg",
              "caption": "Additional text to accompany the image."},
}

# --- Voice API -------------------------------------------------------------------------------
# developer.vonage.com/voice/voice-api/webhook-reference, event webhook examples.

CALL = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
VOICE_STARTED = {
    "start_time": None, "headers": {}, "rate": None, "from": "447700900000",
    "to": "447700900001", "uuid": CALL, "conversation_uuid": "CON-" + CALL,
    "status": "started", "direction": "outbound", "network": None,
    "timestamp": "2020-01-01T12:00:00.000Z",
}
VOICE_ANSWERED = {
    "start_time": None, "rate": None, "from": "447700900000", "to": "447700900001",
    "uuid": CALL, "conversation_uuid": "CON-" + CALL, "status": "answered",
    "direction": "outbound", "network": None, "timestamp": "2020-01-01T12:00:00.000Z",
}
# "human / machine": the answering-machine detection result names the call `call_uuid`.
VOICE_MACHINE = {
    "call_uuid": CALL, "conversation_uuid": "CON-" + CALL, "status": "machine",
    "direction": "outbound", "timestamp": "2020-01-01T12:00:01.000Z",
}
VOICE_HUMAN = {**VOICE_MACHINE, "status": "human"}
VOICE_COMPLETED = {
    "end_time": "2020-01-01T12:00:00.000Z", "uuid": CALL, "network": "65512",
    "duration": "2", "start_time": "2020-01-01T12:00:00.000Z", "rate": "0.00450000",
    "price": "0.00015000", "from": "447700900000", "to": "447700900001",
    "conversation_uuid": "CON-" + CALL, "status": "completed", "direction": "outbound",
    "timestamp": "2020-01-01T12:00:00.000Z",
}
VOICE_REJECTED = {
    "from": "447700900000", "to": "447700900001", "uuid": CALL,
    "conversation_uuid": "CON-" + CALL, "status": "rejected", "direction": "outbound",
    "timestamp": "2020-01-01T12:00:00.000Z", "detail": "restricted",
}
