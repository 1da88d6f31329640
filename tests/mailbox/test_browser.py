"""In Chromium: the status column refreshes by itself and the search narrows the rows live."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Message, Status
from tests.browser.conftest import CHROMIUM, screenshot
from tests.mailbox.conftest import minutes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


def test_status_refreshes_without_reload_then_polling_stops(
    signed_in, live_server, make_client, make_appointment, make_message, add_event
):
    ann = make_client(first_name="Ann", last_name="Lee")
    bob = make_client(first_name="Bob", last_name="Stone")
    queued = make_message(ann, make_appointment(client=ann, title="Check-up"),
                          status=Status.QUEUED, body="See you tomorrow at 9")
    make_message(bob, status=Status.DELIVERED, body="Your results are ready")
    add_event(queued, Status.QUEUED, at=minutes(0))
    page = signed_in(Role.READ_ONLY)

    page.goto(f"{live_server}/messages/outbox")
    badge = page.locator(f"#status-{queued.id}")
    expect(badge).to_have_text("Queued")
    screenshot(page, "outbox")
    db.session.execute(db.update(Message).where(Message.id == queued.id)
                       .values(status=Status.DELIVERED, sent_at=minutes(1), segments=1))
    add_event(queued, Status.SENT, at=minutes(1), code="0", detail="accepted by the simulator")
    add_event(queued, Status.DELIVERED, at=minutes(2), code="0", detail="delivered to the handset")

    expect(badge).to_have_text("Delivered", timeout=12_000)
    expect(badge).to_have_class("badge status-delivered")
    expect(page.locator("#status-poller")).not_to_have_attribute("hx-trigger", "every 5s")

    page.locator(f"#message-{queued.id}").get_by_role("link", name="Details").click()
    expect(page.get_by_role("heading", name="Status history")).to_be_visible()
    expect(page.get_by_text("See you tomorrow at 9")).to_be_visible()
    screenshot(page, "message-detail")


def test_search_box_narrows_rows_and_keeps_the_url(signed_in, live_server, make_client,
                                                   make_message):
    make_message(make_client(first_name="Ann", last_name="Lee"), body="Snow day: closed")
    make_message(make_client(first_name="Bob", last_name="Stone"), body="Open as usual")
    page = signed_in(Role.READ_ONLY)
    page.goto(f"{live_server}/messages/outbox")
    rows = page.locator("#mailbox-rows tbody tr")
    expect(rows).to_have_count(2)

    page.get_by_label("Search").fill("snow")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ann Lee")
    expect(page).to_have_url(f"{live_server}/messages/outbox?q=snow")
    page.get_by_label("Channel").select_option("email")
    expect(page.get_by_text("No messages match.")).to_be_visible()
