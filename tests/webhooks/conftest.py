"""Helpers to post inbound messages the way a provider signs them."""

import time
import uuid

import pytest

from core.simulator.operations import signed, webhook_secret

URL = "/webhooks/simulator/inbound"


@pytest.fixture
def inbound_params(app):
    """Factory: the signed fields of one inbound text (override any field)."""

    def make(secret=None, **fields):
        params = {
            "msisdn": "12025550001",
            "to": "12025559999",
            "messageId": uuid.uuid4().hex,
            "text": "Yes",
            "type": "text",
            "keyword": "YES",
            "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }
        params.update(fields)
        return signed(params, secret or webhook_secret())

    return make
