"""In Chromium: the client answers YES 2 on the simulator, and the appointment page and the
Appointments list show Confirmed without a reload."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from core.confirmations.operations import mark_requested
from core.extensions import db
from core.simulator.phones import phone_key
from tests.browser.conftest import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


def _at(days):
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 19, 30, tzinfo=UTC)


def test_yes_2_on_the_phone_turns_the_badge_green_live(signed_in, live_server, make_client,
                                                        make_appointment, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    first, second = (make_appointment(client=ann, start_at=_at(d)) for d in (1, 2))
    for visit in (first, second):
        mark_requested([visit.id])
        db.session.commit()
    staff = signed_in(Role.EDIT)
    staff.goto(f"{live_server}/appointments/{second.id}")
    badge = staff.locator(f"#confirmation-{second.id}")
    expect(badge).to_have_text("Awaiting reply")
    listing = staff.context.new_page()
    listing.goto(f"{live_server}/appointments")
    expect(listing.locator(f"#confirmation-{second.id}")).to_have_text("Awaiting reply")

    phone_page = staff.context.new_page()
    phone_page.goto(f"{live_server}/simulator/phone/{ann.mobile}")
    phone = phone_page.locator(f"#phone-{phone_key(ann.mobile)}")
    phone.get_by_label("Reply").fill("YES 2")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator(".bubble.out")).to_contain_text("YES 2")
    run_worker()  # the inbound drain, as the production workers do

    expect(badge).to_have_text("Confirmed", timeout=12_000)
    expect(badge).to_have_class("confirm confirm-green")
    staff.locator("#confirmation-card").scroll_into_view_if_needed()
    screenshot(staff, "confirmation-status")
    expect(listing.locator(f"#confirmation-{second.id}")).to_have_text("Confirmed",
                                                                       timeout=15_000)
    expect(listing.locator(f"#confirmation-{first.id}")).to_have_text("Awaiting reply")
