"""The README's pictures, drawn from the demo business (`flask seed`) the way a visitor meets it:
sign in with the demo admin, tick appointments, compose a mass notice, watch it go, read a
client's reply, send a secure message and open it on a phone.

`make screenshots` (TIDINGS_SCREENSHOTS=docs) writes them to docs/screenshots/, whole pages;
an ordinary run writes them to tests/screenshots-tmp/. Each step also checks what the picture
is meant to show, so a broken demo fails here and not only in the picture.
"""

import re

import pytest
from playwright.sync_api import expect

from core.demo import DEMO_PASSWORD, STAFF_USERS, seed_demo
from core.extensions import db
from core.messaging.models import Direction, Message
from core.simulator.models import SimMessage
from core.simulator.operations import send_reply
from core.simulator.tasks import deliver_receipt
from tests.browser.conftest import readme_screenshot
from tests.secure.conftest import (
    secure_on,  # noqa: F401  (fixture)
    token_in,
)

pytestmark = pytest.mark.browser

ADMIN = STAFF_USERS[0][0]
NOTICE = ("Hi {{ first_name }}, snow will close the clinic on {{ appointment_date }}. We will "
          "call you to move your {{ appointment_time }} visit.")


@pytest.fixture
def demo(app, secure_on):  # noqa: F811
    """The demo business, as `make run` seeds it."""
    summary = seed_demo(if_empty=False)
    db.session.commit()
    assert summary.startswith("Loaded the demo")
    return summary


@pytest.fixture
def laptop(browser):
    """The 1366 px laptop the README's pages are drawn on."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser):
    """A phone-sized touch browser (the client's side)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="en-US")
    yield context.new_page()
    context.close()


def _sign_in(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    readme_screenshot(page, "login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def _hhmm(text: str) -> list[str]:
    return re.findall(r"\b(\d{1,2}:\d{2} [AP]M)\b", text)


def test_readme_pictures_from_the_demo_business(demo, laptop, phone, live_server, run_worker):
    page = laptop
    _sign_in(page, live_server)

    # Appointments: the demo's business hours and job numbers, not test data.
    page.goto(f"{live_server}/appointments")
    rows = page.locator("table.appointments tbody tr")
    expect(rows.first).to_be_visible()
    listing = page.locator("table.appointments").inner_text()
    times = _hhmm(listing)
    assert times and not {"12:00 AM", "3:00 AM"} & set(times)
    assert re.search(r"\bJ-\d{4}\b", listing)
    for n in range(3):
        page.locator("input.pick").nth(n).check()
    expect(page.locator(".selection-count")).to_have_text("3 selected")
    readme_screenshot(page, "appointments")

    # Compose a mass notice to their clients, with the dry run below the form.
    page.get_by_role("link", name="Compose message").click()
    expect(page.get_by_text("Clients of the 3 selected appointments")).to_be_visible()
    page.locator("#body").fill(NOTICE)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#compose-preview tbody tr").first).to_contain_text("snow will close")
    readme_screenshot(page, "compose")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("is on its way")).to_be_visible()
    run_worker()
    for message in db.session.scalars(db.select(Message).where(Message.direction == Direction.OUT)):
        if message.provider_id:
            deliver_receipt(message.provider_id)
    expect(page.locator(".progress-done")).to_be_visible(timeout=15_000)
    expect(page.locator("#broadcast-state")).to_have_text("Sent")
    # Every page a visitor sees here fits the laptop: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    readme_screenshot(page, "mass-send")

    # A client answers on the simulator; the Outbox, the message and the thread show it.
    answered = db.session.scalars(db.select(Message).where(
        Message.direction == Direction.OUT, Message.status == "delivered")
        .order_by(Message.id)).first()
    send_reply(answered.to_addr, "Thanks for letting me know. Is Thursday morning possible?")
    run_worker()
    page.goto(f"{live_server}/messages/outbox")
    expect(page.locator("table.messages tbody tr").first).to_contain_text("snow will close")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    readme_screenshot(page, "outbox")
    # ... at any hour of any day: the widest time a row can show still fits (at 10:56 PM the
    # table once ran 13 px past the laptop's edge, at 9:56 it fitted)
    page.evaluate("document.querySelectorAll('td.sent-at').forEach("
                  "cell => { cell.textContent = 'May 28, 12:58 PM'; })")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.goto(f"{live_server}/messages/{answered.id}")
    expect(page.get_by_text("Is Thursday morning possible?")).to_be_visible()
    readme_screenshot(page, "message-detail")
    page.goto(f"{live_server}/simulator/phone/{answered.to_addr}")
    expect(page.locator(".bubble.out")).to_contain_text("Thursday morning")
    readme_screenshot(page, "simulator")
    page.goto(f"{live_server}/conversations/")
    listing = page.locator("#conversation-list")
    expect(listing.locator("tbody tr")).to_have_count(1)  # only the client who answered
    page.goto(f"{live_server}/conversations/{answered.client_id}")
    expect(page.locator(".thread-messages")).to_contain_text("snow will close")
    page.get_by_label("Reply").fill("Yes, Thursday at 9:30 works. See you then!")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".thread-messages")).to_contain_text("Thursday at 9:30")
    readme_screenshot(page, "conversations")

    # The client card, with its appointments, texts and history.
    page.goto(f"{live_server}/clients/{answered.client_id}")
    expect(page.locator("#history")).to_contain_text("client")
    readme_screenshot(page, "client-card")

    # A secure message with a PIN: the client opens it on a phone.
    page.goto(f"{live_server}/compose/?client_id={answered.client_id}")
    expect(page.get_by_text("One person")).to_be_visible()
    page.get_by_label("Send securely (the client gets a link, not the text)").check()
    page.get_by_label("Ask for a PIN").check()
    page.get_by_label("PIN (4–8 digits)").fill("4821")
    page.locator("#body").fill("Your blood test results are normal. Dr. Lee")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("is on its way")).to_be_visible()
    run_worker()
    on_phone = db.session.scalars(db.select(SimMessage).where(
        SimMessage.incoming.is_(True), SimMessage.body.contains("/s/"))).one()
    notice = db.session.scalars(db.select(Message).where(
        Message.provider_id == on_phone.provider_id)).one()
    phone.goto(f"{live_server}/s/{token_in(on_phone.body)}")
    expect(phone.get_by_role("heading", name="You have a secure message")).to_be_visible()
    readme_screenshot(phone, "secure-portal-reveal")
    phone.get_by_role("button", name="Tap to reveal").tap()
    phone.get_by_label("PIN").fill("1111")
    phone.get_by_role("button", name="Open message").tap()
    expect(phone.get_by_role("alert")).to_contain_text("attempts left")
    readme_screenshot(phone, "secure-portal-pin")
    phone.get_by_label("PIN").fill("4821")
    phone.get_by_role("button", name="Open message").tap()
    expect(phone.get_by_text("Your blood test results are normal.")).to_be_visible()
    readme_screenshot(phone, "secure-portal-message")
    page.goto(f"{live_server}/messages/{notice.id}")
    expect(page.get_by_text("Link opened", exact=True)).to_be_visible()
    readme_screenshot(page, "secure-status")

    page.goto(f"{live_server}/settings/")
    readme_screenshot(page, "settings")
