"""In Chromium at phone size: open the link, tap to reveal, a wrong then the right PIN, read the
message, download the attachment, reply once."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.extensions import db
from core.messaging.models import Direction, Message
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    CHROMIUM,
    browser_type_launch_args,
    live_server,
    screenshot,
    signed_in,
)
from tests.compose.files import pdf
from tests.secure.conftest import SECRET_TEXT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() or shutil.which("chromium")),
                       reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture
def phone(browser):
    """A phone-sized touch browser that accepts downloads."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, accept_downloads=True,
                                  locale="en-US")
    yield context.new_page()
    context.close()


def test_client_reads_a_secure_message_on_a_phone(phone, live_server, signed_in,  # noqa: F811
                                                  send_secure):
    data = pdf(800)
    sent = send_secure(pin="4821", channel="email", attachments=[("results.pdf", data)])
    phone.goto(f"{live_server}{sent.url}")
    expect(phone.get_by_role("heading", name="You have a secure message")).to_be_visible()
    expect(phone.get_by_text(SECRET_TEXT)).to_have_count(0)
    screenshot(phone, "secure-portal-reveal")
    phone.get_by_role("button", name="Tap to reveal").tap()

    expect(phone.get_by_role("heading", name="Enter your PIN")).to_be_visible()
    phone.get_by_label("PIN").fill("1111")
    phone.get_by_role("button", name="Open message").tap()
    expect(phone.get_by_role("alert")).to_contain_text("4 attempts left")
    screenshot(phone, "secure-portal-pin")
    phone.get_by_label("PIN").fill("4821")
    phone.get_by_role("button", name="Open message").tap()

    expect(phone.get_by_text(SECRET_TEXT)).to_be_visible()
    screenshot(phone, "secure-portal-message")
    with phone.expect_download() as download_info:
        phone.get_by_role("link", name="results.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "results.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == data

    phone.get_by_label("Your reply").fill("Thank you, I will call on Monday.")
    phone.get_by_role("button", name="Send reply").tap()
    expect(phone.get_by_role("status")).to_contain_text("your reply was sent")
    expect(phone.get_by_role("button", name="Send reply")).to_have_count(0)
    db.session.expire_all()
    replies = db.session.scalars(db.select(Message).where(Message.direction == Direction.IN))
    assert [m.body for m in replies] == ["Thank you, I will call on Monday."]
    # The page fits the phone: nothing scrolls sideways.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390

    # Staff see what happened, with times, on the notice's page.
    staff = signed_in()
    staff.goto(f"{live_server}/messages/{sent.secure.message_id}")
    status = staff.locator(f"#secure-status-{sent.secure.id}")
    for label in ("Link opened", "Revealed", "Read", "Replied"):
        expect(status.get_by_text(label, exact=True)).to_be_visible()
    expect(status).to_contain_text("1 wrong attempt(s)")
    expect(status.get_by_role("button", name="Resend a fresh link")).to_be_visible()
    status.scroll_into_view_if_needed()
    screenshot(staff, "secure-status")


def test_a_secure_text_shows_its_files_field_and_no_sms_counter(live_server, signed_in,  # noqa: F811
                                                        secure_on):
    from core.auth.models import Role

    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/compose/")
    files = page.locator("#files")
    page.get_by_label("Text (SMS)").check()
    expect(files).to_be_hidden()  # a plain text carries no files

    expect(page.locator("#live-count")).to_be_visible()
    page.get_by_label("Send securely (the client gets a link, not the text)").check()
    expect(files).to_be_visible()
    expect(page.get_by_text("The files stay in the secure portal")).to_be_visible()
    # Not measured as one text: only the short notice with the link is texted.
    expect(page.locator("#live-count")).to_be_hidden()
    expect(page.locator("#compose-count")).to_be_hidden()
    expect(page.get_by_text("the message itself stays in the portal")).to_be_visible()

    page.get_by_label("Email", exact=True).check()
    expect(files).to_be_visible()
    expect(page.get_by_text("The files stay in the secure portal")).to_be_hidden()
