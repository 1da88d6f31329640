"""An admin fixes a wrong sender on the Settings page and sends a test text, in Chromium."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_vonage_settings_validate_save_and_send_a_test(signed_in, live_server):
    page = signed_in()
    page.goto(f"{live_server}/settings/")
    vonage = page.locator("#settings-vonage")
    vonage.get_by_label("API key").fill("abcd1234")
    vonage.get_by_label("API secret").fill("api-secret-value-4f2a")
    vonage.get_by_label("Default sender").fill("ClinicLeeDental")
    vonage.get_by_role("button", name="Save Vonage settings").click()
    expect(vonage.get_by_text("up to 11 letters, digits and spaces")).to_be_visible()

    vonage.get_by_label("API secret").fill("api-secret-value-4f2a")  # never echoed back
    vonage.get_by_label("Default sender").fill("DrLee")
    vonage.get_by_role("button", name="Save Vonage settings").click()
    expect(page.locator("#settings-vonage").get_by_text("Vonage settings saved.")).to_be_visible()
    expect(page.locator("#settings-vonage").get_by_text("set, ends in …4f2a")).to_be_visible()
    status = page.locator("#settings-status")
    expect(status.locator("tr", has_text="Text (SMS)")).to_contain_text("Vonage")
    expect(status.locator("tr", has_text="Phone call")).to_contain_text("Not configured")
    assert "api-secret-value-4f2a" not in page.content()
    page.get_by_role("heading", name="Settings", exact=True).scroll_into_view_if_needed()
    screenshot(page, "settings")

    test = page.locator("#settings-test")
    test.get_by_label("Send a").select_option("email")
    test.get_by_label("To").fill("ana@example.com")
    test.get_by_role("button", name="Send test").click()
    expect(page.locator("#settings-test").get_by_text("Sent through the phone simulator"))\
        .to_be_visible()
