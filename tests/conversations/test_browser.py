"""In Chromium: a client replies on the simulator, the badge lights up live, staff answer."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from core.simulator.phones import phone_key
from tests.browser.conftest import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]

# Records each element that gets the `conv-new` class, whether or not it still has it later.
CUE_RECORDER = """() => {
  window.tidingsCues = [];
  new MutationObserver((changes) => changes.forEach((change) => {
    if (change.target.classList.contains("conv-new")) window.tidingsCues.push(change.target.id);
  })).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["class"]});
}"""


def test_a_reply_lights_the_badge_and_the_answer_reaches_the_phone(
        signed_in, live_server, make_client, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    staff = signed_in(Role.EDIT)
    refused = []
    staff.on("console", lambda msg: refused.append(msg.text)
             if "Content Security Policy" in msg.text else None)
    staff.goto(f"{live_server}/conversations/")
    badge = staff.locator("#nav-conversations")
    expect(badge).to_have_attribute("data-unread", "0")
    # The cue lasts 4 s; a loaded machine may look later than that, so every time the class is
    # put on the badge is recorded as it happens, and the record is what is checked.
    staff.evaluate(CUE_RECORDER)

    phone_page = staff.context.new_page()
    phone_page.goto(f"{live_server}/simulator/phone/{ann.mobile}")
    phone = phone_page.locator(f"#phone-{phone_key(ann.mobile)}")
    phone.get_by_label("Reply").fill("Can I come at 4 instead?")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator(".bubble.out")).to_contain_text("Can I come at 4 instead?")

    # No reload: the polled badge and list show the new text.
    expect(badge.locator(".badge-unread")).to_have_text("1", timeout=12_000)
    # The visual cue: the live badge was given the pulsing class when the count went up.
    staff.wait_for_function("() => window.tidingsCues.includes('nav-conversations')",
                            timeout=12_000)
    expect(staff.locator("#conversation-list")).to_contain_text("Can I come at 4 instead?",
                                                                timeout=12_000)
    staff.get_by_role("link", name="Ann Lee").click()
    expect(staff.locator(".thread-messages")).to_contain_text("Can I come at 4 instead?")
    expect(badge.locator(".badge-unread")).to_have_count(0, timeout=12_000)

    staff.get_by_label("Reply").fill("Yes, 4 PM works. See you!")
    staff.get_by_role("button", name="Send").click()
    expect(staff.locator(".thread-messages")).to_contain_text("Yes, 4 PM works")
    run_worker()  # fan-out and delivery, as the production workers do
    answer = phone.locator(".bubble.in", has_text="Yes, 4 PM works. See you!")
    expect(answer).to_have_count(1, timeout=12_000)
    # The question drew no "I didn't understand": the staff reply is the only text out.
    expect(staff.locator(".thread-messages .conv-bubble.out")).to_have_count(1, timeout=12_000)
    assert refused == []  # checked before the screenshot, whose caret-hiding style CSP blocks
    screenshot(staff, "conversations")
