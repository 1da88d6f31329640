"""In Chromium: compose to ticked appointments with a merge field, watch the counter switch to
UCS-2 when an emoji is typed, preview, send, and see the progress box finish and stop polling."""

import re

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Message
from core.simulator.tasks import deliver_receipt
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    browser_context_args,
    browser_type_launch_args,
    live_server,
    screenshot,
    signed_in,
)

pytestmark = pytest.mark.browser


def test_compose_to_selected_appointments(signed_in, live_server,  # noqa: F811
                                          make_client, make_appointment, run_worker):
    ada = make_appointment(client=make_client(first_name="Ada"))
    ben = make_appointment(client=make_client(first_name="Ben"))
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/appointments")
    page.locator(f"#pick-{ada.id}").check()
    expect(page.locator(".selection-count")).to_have_text("1 selected")
    page.locator(f"#pick-{ben.id}").check()
    expect(page.locator(".selection-count")).to_have_text("2 selected")
    page.get_by_role("link", name="Compose message").click()
    expect(page.get_by_text("Clients of the 2 selected appointments")).to_be_visible()
    expect(page.get_by_label("Subject")).to_be_hidden()  # only email has one
    expect(page.get_by_label("Date")).to_be_hidden()  # until "Schedule" is chosen

    body = page.locator("#body")
    body.click()
    body.press_sequentially("Hi ")
    page.get_by_role("button", name="First name").click()
    body.press_sequentially(", we are closed today.")
    expect(body).to_have_value("Hi {{ first_name }}, we are closed today.")
    expect(page.locator("#live-count")).to_contain_text("GSM-7")
    expect(page.locator("#compose-count .count-encoding")).to_have_text("GSM-7")
    expect(page.locator("#compose-count .count-chars")).to_have_text("28")  # "Hi Ada, we are…"

    body.press_sequentially(" 😀")
    body.press("End")  # an emoji arrives as inserted text; the next key release triggers htmx
    expect(page.locator("#live-count .forces-unicode")).to_contain_text("😀")
    expect(page.locator("#compose-count .count-encoding")).to_have_text("UCS-2")
    expect(page.locator("#compose-count .forces-unicode mark")).to_have_text("😀")

    page.get_by_role("button", name="Preview").click()
    rows = page.locator("#compose-preview tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Hi Ada, we are closed today. 😀")
    expect(rows.first).to_contain_text("sends now")
    page.locator("#compose-message").evaluate("fieldset => fieldset.scrollIntoView()")
    screenshot(page, "compose")

    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Text (SMS) is on its way.")).to_be_visible()
    expect(page.locator("#broadcast-progress")).to_have_attribute("hx-trigger", "every 1s")
    run_worker()
    # Both went; the page keeps watching until the handsets' receipts come in.
    expect(page.locator(".progress-receipts")).to_contain_text("2 messages still without one",
                                                               timeout=10_000)
    for message in db.session.scalars(db.select(Message)):
        deliver_receipt(message.provider_id)
    expect(page.locator(".progress-done")).to_be_visible(timeout=10_000)
    expect(page.locator("#broadcast-progress .count-delivered")).to_have_text("2")
    expect(page.locator("#broadcast-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator("#broadcast-progress progress")).to_have_attribute("value", "2")

    # The Outbox lists both messages, each with its delivery status.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    outbox = page.locator("table tbody tr")
    expect(outbox).to_have_count(2)
    expect(outbox.filter(has_text="Ada").locator(".badge")).to_have_text(
        re.compile("Sent|Delivered"))
    expect(outbox.filter(has_text="Ben").locator(".badge")).to_have_text(
        re.compile("Sent|Delivered"))
