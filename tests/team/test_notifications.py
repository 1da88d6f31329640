"""In Chromium, two staff members' browsers: desktop notifications for direct messages and
mentions, none while the tab is focused on that chat, and the permission asked only on a click.

window.Notification is observed by an init script (every notification shown is recorded in
window.__notes), and the tab's focus is set by the test through document.hasFocus (headless
pages all count as focused)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from core.extensions import db
from core.team import operations
from tests.browser.conftest import CHROMIUM, log_in
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]

# `permission`: the browser's own answer when it is "real", else the stub's (asked on demand).
OBSERVE = """
(() => {
  const Real = window.Notification;
  const stub = %s;
  let permission = "default";
  function Observed(title, options) {
    window.__notes.push({ title, body: (options || {}).body || "" });
  }
  Object.defineProperty(Observed, "permission",
    { get: () => (stub ? permission : Real.permission) });
  Observed.requestPermission = () => {
    window.__asked += 1;
    permission = "granted";
    return stub ? Promise.resolve("granted") : Real.requestPermission();
  };
  window.__notes = [];
  window.__asked = 0;
  window.__focus = true;
  window.Notification = Observed;
  document.hasFocus = () => window.__focus;
})();
"""


@pytest.fixture
def staff_browser(browser, live_server, make_user):
    """Factory: staff_browser("Bob Stone", granted=True) -> (signed-in page, user)."""
    contexts = []

    def make(name, granted: bool):
        user = make_user(Role.EDIT, name=name)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        contexts.append(context)
        if granted:
            context.grant_permissions(["notifications"], origin=live_server)
        context.add_init_script(OBSERVE % ("false" if granted else "true"))
        page = context.new_page()
        log_in(page, live_server, user.email, PASSWORD)
        return page, user

    yield make
    for context in contexts:
        context.close()


def _notes(page) -> list[dict]:
    return page.evaluate("window.__notes")


def _focus(page, focused: bool) -> None:
    page.evaluate(f"window.__focus = {'true' if focused else 'false'}")


def test_direct_messages_and_mentions_notify_only_when_the_chat_is_not_focused(
        staff_browser, live_server, make_user):
    bob, bob_user = staff_browser("Bob Stone", granted=True)
    ann_user = make_user(Role.EDIT, name="Ann Lee")
    direct = operations.open_direct(ann_user, bob_user)
    group = operations.create_group(ann_user, "Front desk", [bob_user])
    db.session.commit()

    bob.goto(f"{live_server}/team/{direct.id}")
    expect(bob.locator(".team-notify")).to_be_hidden()  # already granted: nothing to ask
    operations.post(direct, ann_user, "Seen the rota?")  # the tab is focused on this chat
    expect(bob.locator("#team-messages")).to_contain_text("Seen the rota?", timeout=8_000)
    _focus(bob, False)  # Bob switches to another window
    operations.post(direct, ann_user, "Van 3 is running late")
    expect(bob.locator("#team-messages")).to_contain_text("Van 3 is running late",
                                                          timeout=8_000)
    bob.wait_for_function("() => window.__notes.length >= 1")
    assert _notes(bob) == [{"title": "Ann Lee", "body": "Van 3 is running late"}]

    bob.goto(f"{live_server}/team/{group.id}")
    _focus(bob, False)
    operations.post(group, ann_user, "Lunch at one?")  # a group message without a mention
    operations.post(group, ann_user, "@Bob can you call Mrs Hill?")
    expect(bob.locator("#team-messages")).to_contain_text("can you call Mrs Hill?",
                                                          timeout=8_000)
    bob.wait_for_function("() => window.__notes.length >= 1")
    assert _notes(bob) == [{"title": "Ann Lee", "body": "@Bob can you call Mrs Hill?"}]

    _focus(bob, True)  # back on the group chat: a mention there raises nothing
    operations.post(group, ann_user, "@Bob thanks!")
    expect(bob.locator("#team-messages")).to_contain_text("thanks!", timeout=8_000)
    bob.wait_for_timeout(1_500)  # one more poll of the pane and of the badge
    assert _notes(bob) == [{"title": "Ann Lee", "body": "@Bob can you call Mrs Hill?"}]


def test_a_direct_message_elsewhere_notifies_through_the_badge(staff_browser, live_server,
                                                               make_user):
    bob, bob_user = staff_browser("Bob Stone", granted=True)
    ann_user = make_user(Role.EDIT, name="Ann Lee")
    direct = operations.open_direct(ann_user, bob_user)
    db.session.commit()
    bob.goto(f"{live_server}/appointments/")
    _focus(bob, False)
    operations.post(direct, ann_user, "Call me when you can")
    expect(bob.locator("#nav-team .badge-unread")).to_have_text("1", timeout=8_000)
    bob.wait_for_function("() => window.__notes.length >= 1")
    assert _notes(bob) == [{"title": "Team", "body": "New direct message or mention"}]


def test_the_permission_is_asked_only_after_a_click(staff_browser, live_server, make_user):
    cat, cat_user = staff_browser("Cat Diaz", granted=False)
    ann_user = make_user(Role.EDIT, name="Ann Lee")
    direct = operations.open_direct(ann_user, cat_user)
    db.session.commit()
    cat.goto(f"{live_server}/team/{direct.id}")
    button = cat.get_by_role("button", name="Turn on notifications")
    expect(button).to_be_visible()
    _focus(cat, False)
    operations.post(direct, ann_user, "Before the click")
    expect(cat.locator("#team-messages")).to_contain_text("Before the click", timeout=8_000)
    assert cat.evaluate("[window.__asked, window.__notes.length]") == [0, 0]
    button.click()
    expect(button).to_be_hidden()
    assert cat.evaluate("window.__asked") == 1
    operations.post(direct, ann_user, "After the click")
    cat.wait_for_function("() => window.__notes.length >= 1", timeout=8_000)
    assert _notes(cat) == [{"title": "Ann Lee", "body": "After the click"}]
