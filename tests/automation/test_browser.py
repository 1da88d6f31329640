"""In Chromium: write a template with chips and the live preview; create a rule, Run now with
its dry-run table; press En Route on a phone-sized screen."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from core.auth.models import Role
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    browser_context_args,
    browser_type_launch_args,
    live_server,
    screenshot,
    signed_in,
)

pytestmark = pytest.mark.browser


def test_write_a_template_with_the_live_preview(signed_in, live_server,  # noqa: F811
                                                make_client, make_appointment):
    make_appointment(client=make_client(first_name="Maria"), staff="Dr. Patel")
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/templates")
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("On our way")
    page.get_by_label("Kind").select_option("en_route")
    expect(page.get_by_label("Subject (email)")).to_be_hidden()
    page.get_by_label("Channel").select_option("email")
    expect(page.get_by_label("Subject (email)")).to_be_visible()
    page.get_by_label("Channel").select_option("sms")
    body = page.locator("#body")
    body.click()
    body.press_sequentially("Hi ")
    page.get_by_role("button", name="First name").click()
    body.press_sequentially(", ")
    page.get_by_role("button", name="Staff").click()
    body.press_sequentially(" is on the way.")
    expect(body).to_have_value("Hi {{ first_name }}, {{ staff }} is on the way.")
    expect(page.locator("#template-preview .bubble-preview")).to_have_text(
        "Hi Maria, Dr. Patel is on the way.")
    expect(page.locator("#template-preview .count-encoding")).to_have_text("GSM-7")
    screenshot(page, "templates")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#templates-table")).to_contain_text("On our way")


def test_create_a_rule_and_run_it_now(signed_in, live_server, make_template,  # noqa: F811
                                      make_client, make_appointment):
    make_template(name="Reminder", body="Hi {{ first_name }}, see you at {{ appointment_time }}.")
    soon = datetime.now(UTC) + timedelta(hours=1)
    make_appointment(client=make_client(first_name="Maria"), start_at=soon)
    make_appointment(client=make_client(first_name="Omar", opted_out=True), start_at=soon)
    make_appointment(start_at=soon + timedelta(days=2))
    page = signed_in(Role.ADMIN)
    page.goto(f"{live_server}/settings/")
    page.get_by_role("link", name="Automated messages").click()
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("Three hours before")
    page.get_by_label("Sends").select_option("status")  # only the status field applies
    expect(page.get_by_label("Status", exact=True)).to_be_visible()
    expect(page.get_by_label("How many")).to_be_hidden()
    page.get_by_label("Sends").select_option("reminder")
    expect(page.get_by_label("Daily time (business time zone)")).to_be_visible()
    page.get_by_label("Template").select_option(label="Reminder (Reminder)")
    page.get_by_label("When", exact=True).select_option("hours_before")
    page.get_by_label("How many").fill("3")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("heading", name="Three hours before")).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()
    page.get_by_role("button", name="Run now…").click()
    table = page.locator("#dry-run table")
    expect(table).to_contain_text("Sends now")
    expect(table).to_contain_text("Skipped: Opted out")
    expect(page.locator("#dry-run")).to_contain_text("1 would be sent now, 1 skipped")
    screenshot(page, "rule-dry-run")
    page.locator("svg.chart").last.scroll_into_view_if_needed()
    screenshot(page, "rule-forecast")
    page.get_by_role("button", name="Send 1 now").click()
    expect(page.locator(".flash-success")).to_contain_text("ran for 2 appointment(s)")


def test_en_route_on_a_phone(signed_in, live_server, make_template, make_rule,  # noqa: F811
                             make_appointment):
    template = make_template(kind="en_route", name="On our way",
                             body="{{ staff }} is on the way to {{ location }}.")
    make_rule(kind="status", timing="on_status", status_trigger="en_route", template=template)
    appointment = make_appointment()
    page = signed_in(Role.EDIT)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/appointments/{appointment.id}")
    button = page.get_by_role("button", name="En Route")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    button.click()
    expect(page.locator(".flash")).to_contain_text("“On our way” is on its way to")
    expect(page.get_by_role("button", name="En Route")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "en-route-phone")


def test_compose_insert_template_fills_subject_and_body(signed_in, live_server,  # noqa: F811
                                                        make_template):
    make_template(name="Closed today", channel="email", subject="We are closed",
                  body="Hi {{ first_name }}, we are closed today.")
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/compose/")
    page.get_by_label("Insert template").select_option(label="Closed today")
    expect(page.get_by_label("Subject")).to_have_value("We are closed")
    body = page.locator("#body")
    expect(body).to_have_value("Hi {{ first_name }}, we are closed today.")
    body.press("End")
    body.press_sequentially(" Sorry!")
    expect(body).to_have_value("Hi {{ first_name }}, we are closed today. Sorry!")
