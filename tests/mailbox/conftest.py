"""Mailbox fixtures: Message and MessageEvent rows inserted directly, as the pipeline would."""

from datetime import UTC, datetime, timedelta

import pytest

from core.extensions import db
from core.messaging.models import Direction, Message, MessageEvent, Status
from tests.browser.conftest import (  # noqa: F401  (the browser fixtures, for test_browser.py)
    browser_context_args,
    browser_type_launch_args,
    live_server,
    signed_in,
)

BASE = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
UNSENT = {Status.QUEUED, Status.SENDING, Status.SKIPPED, Status.CANCELLED}


@pytest.fixture
def make_message(app):
    """Factory: make_message(client=..., appointment=..., **columns) -> a committed Message."""

    def make(client=None, appointment=None, **overrides) -> Message:
        direction = overrides.get("direction", Direction.OUT)
        inbound = direction == Direction.IN
        address = (client.mobile if client else None) or "+12025550999"
        values = {
            "direction": direction,
            "channel": "sms",
            "to_addr": "+12025550000" if inbound else address,
            "from_addr": address if inbound else "+12025550000",
            "body": "Hello",
            "status": Status.RECEIVED if inbound else Status.DELIVERED,
            "client_id": client.id if client else None,
            "appointment_id": appointment.id if appointment else None,
            "created_at": BASE,
        }
        values.update(overrides)
        if not inbound and values["status"] not in UNSENT:
            values.setdefault("sent_at", values["created_at"])
            values.setdefault("segments", 1)
        message = Message(**values)
        db.session.add(message)
        db.session.commit()
        return message

    return make


@pytest.fixture
def add_event(app):
    """Factory: add_event(message, status, at=..., code=..., detail=...) -> a MessageEvent."""

    def add(message, status, at=None, **values) -> MessageEvent:
        event = MessageEvent(message_id=message.id, status=status, at=at or BASE, **values)
        db.session.add(event)
        db.session.commit()
        return event

    return add


def minutes(n: int) -> datetime:
    """BASE plus n minutes."""
    return BASE + timedelta(minutes=n)
