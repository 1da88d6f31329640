"""The Outbox at 1366 px (room for the text, compact times) and on a phone (stacked cards)."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from core.appointments.operations import to_local
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _long_message(make_client, make_appointment, make_message):
    person = make_client(first_name="Ann", last_name="Doe")
    visit = make_appointment(client=person, title="Boiler service")
    sent = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)
    return make_message(client=person, appointment=visit, created_at=sent, sent_at=sent,
                        body="Hello Ann, your boiler service is booked; reply YES to confirm. " * 2)


def test_outbox_on_a_laptop_gives_the_text_room_and_shows_compact_times(
        signed_in, live_server, make_client, make_appointment, make_message):
    message = _long_message(make_client, make_appointment, make_message)
    page = signed_in()
    page.set_viewport_size({"width": 1366, "height": 860})
    page.goto(f"{live_server}/messages/outbox")
    row = page.locator(f"#message-{message.id}")
    local = to_local(message.sent_at)
    stamp = row.locator("td.sent-at time")
    expect(stamp).to_have_text(f"Dec {local.day}, {local.hour % 12 or 12}:05 {local:%p}")
    clock = f"{local.hour % 12 or 12}:05 {local:%p}"
    expect(stamp).to_have_attribute("title", f"{local:%a} {local.day} Dec 2026, {clock}")
    # One line for the time; the message column is the widest of the row.
    line = stamp.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert stamp.bounding_box()["height"] < 1.5 * line
    widths = row.locator("td").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().width)")
    assert widths[1] == max(widths) and widths[1] >= 270
    table, column = (page.locator(c).bounding_box() for c in ("table.messages", ".mailbox-main"))
    assert table["x"] + table["width"] <= column["x"] + column["width"] + 1
    screenshot(page, "outbox-laptop")


def test_outbox_rows_become_cards_on_a_phone(signed_in, live_server, make_client, make_appointment,
                                             make_message):
    message = _long_message(make_client, make_appointment, make_message)
    page = signed_in()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/messages/outbox")
    row = page.locator(f"#message-{message.id}")
    assert row.evaluate("e => getComputedStyle(e).display") == "block"
    expect(page.locator("table.messages thead")).to_be_hidden()
    assert row.bounding_box()["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth "
                         "<= document.documentElement.clientWidth")
    screenshot(page, "outbox-phone")
