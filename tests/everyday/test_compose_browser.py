"""Compose in Chromium: the secure options appear only when asked for; the button says what
it does."""

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_pin_and_lifetime_show_only_for_a_secure_send(signed_in, live_server, secure_on):
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/compose/")
    secure = page.get_by_label("Send securely")
    ask = page.get_by_label("Ask for a PIN")
    pin = page.get_by_label("PIN (4–8 digits)")
    lifetime = page.get_by_label("Link lifetime (hours)")
    expect(ask).to_be_hidden()
    expect(pin).to_be_hidden()
    expect(lifetime).to_be_hidden()
    expect(page.get_by_text("Require a PIN")).to_have_count(0)

    secure.check()
    expect(ask).to_be_visible()
    expect(lifetime).to_be_visible()
    ask.uncheck()
    expect(pin).to_be_hidden()
    ask.check()
    expect(pin).to_be_visible()
    expect(page.get_by_text("tell the client yourself")).to_be_visible()
    screenshot(page, "compose-secure")
    secure.uncheck()
    expect(ask).to_be_hidden()
    expect(pin).to_be_hidden()


def test_the_button_says_schedule_when_scheduling(signed_in, live_server):
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/compose/")
    form = page.locator("#compose-form")
    expect(form.locator("#compose-submit")).to_have_text("Send")
    form.get_by_label("Schedule").check()
    expect(form.locator("#compose-submit")).to_have_text("Schedule")
    form.get_by_label("Send now").check()
    expect(form.locator("#compose-submit")).to_have_text("Send")
