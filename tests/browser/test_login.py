"""A person signs in through the real form in Chromium."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_sign_in_with_wrong_then_right_password(page, live_server, make_user):
    from core.auth.models import Role
    from tests.conftest import PASSWORD

    user = make_user(Role.EDIT)
    page.goto(f"{live_server}/login")
    screenshot(page, "login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(user.name)).to_be_visible()
