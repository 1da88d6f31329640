"""Every main page at a phone's 390×844 without sideways scrolling; the Menu button opens the
navigation."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

MAIN_PAGES = ["/", "/appointments", "/clients", "/clients/new", "/appointments/new", "/compose/",
              "/templates", "/messages/outbox", "/messages/inbox", "/conversations/",
              "/simulator/", "/import/", "/admin/users", "/settings/", "/system/",
              "/automation/rules"]


def _some_data(make_client, make_appointment, make_message):
    """A few clients, appointments and long messages, so tables have rows to lay out."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for i in range(3):
        person = make_client(first_name=f"Alexandrina{i}", last_name="Featherstonehaugh",
                             company="Featherstonehaugh Heating & Plumbing Ltd")
        visit = make_appointment(client=person, start_at=start + timedelta(hours=i),
                                 title="Annual boiler service and safety inspection")
        make_message(client=person, appointment=visit, body="Your appointment is tomorrow " * 6)


def _overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_every_main_page_fits_a_phone(signed_in, live_server, make_client, make_appointment,
                                      make_message):
    _some_data(make_client, make_appointment, make_message)
    page = signed_in()
    page.set_viewport_size({"width": 390, "height": 844})
    wide = {}
    for path in MAIN_PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response.ok, path
        page.wait_for_load_state("networkidle")
        if _overflow(page) > 0:
            wide[path] = page.evaluate("document.documentElement.scrollWidth")
    assert wide == {}, wide


def test_the_menu_button_opens_the_navigation_on_a_phone(signed_in, live_server):
    page = signed_in()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/appointments")
    outbox = page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox")
    expect(outbox).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(outbox).to_be_visible()
    screenshot(page, "phone-menu")
    outbox.click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    # On a laptop the links are always there and the button is not.
    page.set_viewport_size({"width": 1366, "height": 860})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(outbox).to_be_visible()
