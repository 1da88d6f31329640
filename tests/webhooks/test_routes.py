"""The public inbound webhook: signed payloads are stored once, everything else is refused."""

import time

import pytest
from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.clients.models import Client
from core.extensions import db
from core.jobs import queue
from core.messaging.inbound import is_processed
from core.messaging.models import Message
from tests.webhooks.conftest import URL


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_signed_text_is_stored_for_its_client(client, make_client, inbound_params):
    ann = make_client(first_name="Ann", mobile="+12025550001")
    params = inbound_params(text="Yes, see you then")
    response = client.post(URL, data=params)
    assert (response.status_code, response.text) == (200, "ok")
    message = db.session.scalar(select(Message))
    assert (message.direction, message.status, message.channel) == ("in", "received", "sms")
    assert (message.from_addr, message.to_addr) == ("+12025550001", "+12025559999")
    assert (message.body, message.client_id) == ("Yes, see you then", ann.id)
    assert (message.provider, message.provider_id) == ("simulator", params["messageId"])


def test_json_payloads_are_accepted(client, make_client, inbound_params):
    make_client(mobile="+12025550001")
    response = client.post(URL, json=inbound_params(text="Running late"))
    assert response.status_code == 200
    assert db.session.scalar(select(Message.body)) == "Running late"


def test_a_replayed_webhook_stores_one_message(client, make_client, inbound_params):
    make_client(mobile="+12025550001")
    params = inbound_params()
    answers = {client.post(URL, data=params).status_code for _ in range(10)}
    assert answers == {200}
    assert _count(Message) == 1
    assert _count(AuditEvent) == 1
    assert queue("high").count == 1


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: p.pop("sig"),
        lambda p: p.update(sig="0" * 64),
        lambda p: p.update(text="No"),  # tampered after signing
        lambda p: p.update(msisdn="12025550002"),
    ],
    ids=["missing", "garbage", "tampered-text", "tampered-sender"],
)
def test_bad_or_missing_signature_is_refused(client, make_client, inbound_params, spoil):
    make_client(mobile="+12025550001")
    params = inbound_params()
    spoil(params)
    response = client.post(URL, data=params)
    assert response.status_code == 403
    assert _count(Message) == 0 and _count(AuditEvent) == 0
    assert queue("high").count == 0


def test_a_payload_signed_with_another_secret_is_refused(client, inbound_params):
    response = client.post(URL, data=inbound_params(secret="someone-elses-secret"))
    assert response.status_code == 403
    assert _count(Message) == 0 and _count(Client) == 0


def test_an_old_signature_is_refused(client, inbound_params):
    stale = str(int(time.time()) - 2 * 86400)
    response = client.post(URL, data=inbound_params(timestamp=stale))
    assert response.status_code == 403
    assert _count(Message) == 0


def test_a_payload_without_sender_or_id_is_a_bad_request(client, inbound_params):
    assert client.post(URL, data={}).status_code == 400
    params = inbound_params()
    del params["messageId"]
    assert client.post(URL, data=params).status_code == 400
    assert _count(Message) == 0


def test_an_unknown_number_becomes_an_unknown_client(client, make_client, inbound_params):
    make_client(mobile="+12025550001")
    assert client.post(URL, data=inbound_params(msisdn="12025550777")).status_code == 200
    stranger = db.session.scalar(select(Client).where(Client.mobile == "+12025550777"))
    assert stranger.unknown_sender is True
    assert (stranger.first_name, stranger.last_name) == ("Unknown", "+12025550777")
    assert db.session.scalar(select(Message.client_id)) == stranger.id


def test_the_webhook_needs_no_csrf_token(app, client, make_client, inbound_params):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(URL, data=inbound_params()).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _count(Message) == 1


def test_processing_runs_in_a_worker(client, make_client, inbound_params, run_worker):
    make_client(mobile="+12025550001")
    client.post(URL, data=inbound_params())
    message_id = db.session.scalar(select(Message.id))
    assert not is_processed(message_id)
    run_worker(queues=["high"])
    assert is_processed(message_id)
    assert queue("high").count == 0
