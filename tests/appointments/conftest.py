"""Helpers for appointment tests: times in the business zone, messages, page parsing."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.extensions import db
from core.messaging.models import Message

ZONE = ZoneInfo("America/New_York")


def local(days: int = 0, hour: int = 10, minute: int = 0) -> datetime:
    """An aware datetime `days` from today at hour:minute in the business zone."""
    day = datetime.now(ZONE).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def row_ids(html: str) -> list[int]:
    """The appointment ids of the table rows, in page order."""
    return [int(i) for i in re.findall(r'<tr id="appointment-(\d+)"', html)]


def next_link(html: str, label: str = "Next →") -> str | None:
    """The href of the pager link with this label."""
    for href, text in re.findall(r'<a class="button" href="([^"]+)"[^>]*>([^<]+)</a>', html):
        if text.strip() == label:
            return href.replace("&amp;", "&")
    return None


@pytest.fixture
def add_message(app):
    """Factory: add_message(appointment, direction="out") -> a committed Message."""

    def add(appointment, direction: str = "out", body: str = "Hello") -> Message:
        message = Message(
            client_id=appointment.client_id,
            appointment_id=appointment.id,
            direction=direction,
            channel="sms",
            to_addr=appointment.client.mobile,
            body=body,
            status="delivered" if direction == "out" else "received",
        )
        db.session.add(message)
        db.session.commit()
        return message

    return add
