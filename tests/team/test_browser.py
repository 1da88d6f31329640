"""In Chromium, two or three staff members in separate browser contexts chat live."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from core.extensions import db
from core.team import operations
from tests.browser.conftest import CHROMIUM, log_in, screenshot
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture
def person(browser, live_server, make_user):
    """Factory: person("Ann Lee") -> (page signed in through the login form, user)."""
    contexts = []

    def make(name, role=Role.EDIT, viewport=None):
        user = make_user(role, name=name)
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860},
                                      locale="en-US")
        contexts.append(context)
        page = context.new_page()
        log_in(page, live_server, user.email, PASSWORD)
        return page, user

    yield make
    for context in contexts:
        context.close()


def test_one_sends_the_other_sees_it_and_the_badge_live(person, live_server):
    ann, _ = person("Ann Lee")
    bob, _ = person("Bob Stone", Role.READ_ONLY)
    bob.goto(f"{live_server}/appointments/")
    expect(bob.locator("#nav-team")).to_have_attribute("data-unread", "0")
    ann.goto(f"{live_server}/team/")
    ann.locator(".new-chat summary").click()
    ann.get_by_label("Staff member").select_option(label="Bob Stone")
    ann.get_by_role("button", name="Open").click()
    box = ann.get_by_label("Message", exact=True)
    box.fill("Hi Bob,")
    box.press("Shift+Enter")
    box.type("the 3 PM client is early")
    box.press("Enter")
    expect(ann.locator("#team-messages")).to_contain_text("the 3 PM client is early")
    expect(box).to_have_value("")
    # No reload on Bob's side: the nav badge counts it, the chat shows it.
    expect(bob.locator("#nav-team .badge-unread")).to_have_text("1", timeout=8_000)
    bob.locator("#nav-team").click()
    bob.get_by_role("link", name="Ann Lee").click()
    expect(bob.locator("#team-messages .team-body")).to_have_text(
        "Hi Bob,\nthe 3 PM client is early")
    expect(bob.locator("#nav-team .badge-unread")).to_have_count(0, timeout=8_000)
    expect(ann.locator(".ticks.seen")).to_have_count(1, timeout=8_000)  # ✓✓ without reload
    # Ann starts a group while the list polls: the redrawn list keeps her half-filled form.
    ann.locator(".new-group summary").click()
    ann.get_by_label("Group name").fill("Van crew")
    ann.evaluate("document.getElementById('team-list').dataset.before = '1'")
    bob.get_by_label("Message", exact=True).fill("On it")
    bob.get_by_label("Message", exact=True).press("Enter")
    expect(ann.locator("#team-messages")).to_contain_text("On it", timeout=8_000)
    expect(ann.locator("#team-list[data-before]")).to_have_count(0, timeout=8_000)  # redrawn
    expect(ann.get_by_label("Group name")).to_have_value("Van crew")


def test_a_group_of_three_with_a_shared_client_card(person, live_server, make_client):
    ann, ann_user = person("Ann Lee")
    bob, bob_user = person("Bob Stone")
    cat, cat_user = person("Cat Diaz", Role.READ_ONLY)
    hal = make_client(first_name="Hal", last_name="Hill", mobile="+12025550009")
    chat = operations.create_group(ann_user, "Front desk", [bob_user, cat_user])
    db.session.commit()
    for page in (ann, bob, cat):
        page.goto(f"{live_server}/team/{chat.id}")
    box = ann.get_by_label("Message", exact=True)
    box.fill("@Bob can you take https://example.com/rota today?")
    box.press("Enter")
    expect(bob.locator("article.mentions-me")).to_have_count(1, timeout=8_000)
    expect(bob.locator("article a[href='https://example.com/rota']")).to_have_count(1)
    expect(cat.locator("#team-messages")).to_contain_text("can you take", timeout=8_000)
    expect(ann.locator("#team-messages")).to_contain_text("Seen by 2", timeout=8_000)

    bob.goto(f"{live_server}/conversations/{hal.id}")
    bob.locator(".discuss summary").click()
    bob.get_by_label("Note").fill("Hal wants to move his visit")
    bob.get_by_role("button", name="Share").click()
    card = cat.locator(".team-card a", has_text="Conversation with Hal Hill")
    expect(card).to_have_count(1, timeout=8_000)
    cat.get_by_label("Message", exact=True).fill("I'll call him")
    cat.get_by_label("Message", exact=True).press("Enter")
    expect(ann.locator("#team-messages")).to_contain_text("I'll call him", timeout=8_000)
    expect(ann.locator("#nav-team .badge-unread")).to_have_count(0, timeout=8_000)
    screenshot(ann, "team-group")
    card.click()
    expect(cat).to_have_url(f"{live_server}/conversations/{hal.id}")


def test_phone_shows_the_list_then_the_chat_with_the_input_visible(person, live_server):
    ann, ann_user = person("Ann Lee", viewport={"width": 390, "height": 844})
    _, bob_user = person("Bob Stone")
    chat = operations.open_direct(ann_user, bob_user)
    db.session.commit()
    for n in range(12):
        last = operations.post(chat, bob_user, f"Update {n}: van {n} is on its way")
    ann.goto(f"{live_server}/team/")
    expect(ann.locator("#team-list")).to_be_visible()
    ann.get_by_role("link", name="Bob Stone").click()
    expect(ann.locator("#team-list")).to_be_hidden()
    expect(ann.get_by_label("Message", exact=True)).to_be_in_viewport()
    expect(ann.locator("#team-messages")).to_contain_text("Update 11")
    expect(ann.locator("#tm-" + str(last.id))).to_be_in_viewport()
    ann.get_by_label("Message", exact=True).fill("Thanks!")
    screenshot(ann, "team-phone")
    ann.get_by_role("link", name="‹ Chats").click()
    expect(ann.locator("#team-list")).to_be_visible()
