"""In Chromium: a practice system's export is recognised on the mapping screen, one choice is
corrected, and the preview then shows the rows as read (and the preview imports them); an Admin
adds a calendar feed served by a local server and sees its sync beside a failing one."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.appointments.importing import feeds
from core.appointments.importing.tasks import sync_due_feeds
from core.appointments.models import Appointment
from core.extensions import db
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    CHROMIUM,
    browser_context_args,
    browser_type_launch_args,
    live_server,
    screenshot,
    signed_in,
)
from tests.imports.helpers import FIXTURES
from tests.imports.test_feeds import _calendar, _event, served  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() or shutil.which("chromium")),
                       reason=f"no Chromium at {CHROMIUM}"),
]


def test_mapping_screen_with_a_preset(signed_in, live_server):  # noqa: F811
    page = signed_in()
    page.goto(f"{live_server}/import/")
    page.locator("input[type=file]").set_input_files(str(FIXTURES / "practice_reminders.csv"))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-mapping")).to_contain_text(
        "Recognised: Practice-management reminder export")
    expect(page.get_by_label("Patient Name")).to_have_value("full_name")
    expect(page.get_by_label("Appointment Time")).to_have_value("time")
    sample = page.locator("#import-mapping-sample")
    expect(sample).not_to_contain_text("give a mobile or an email")
    page.get_by_label("Home Phone").select_option("ignore")
    expect(sample).to_contain_text("row 3: give a mobile or an email")  # redrawn by htmx
    screenshot(page, "import-mapping")
    page.get_by_role("button", name="Preview the rows").click()
    rows = page.locator("table.import-rows tbody")
    expect(rows).to_contain_text("Ana Lopez")
    expect(rows).to_contain_text("Mon 2030-03-04 09:30")
    expect(page.locator("ul.row-errors")).to_contain_text("row 3")  # Okafor: no number left
    page.get_by_role("button", name="Import the 2 valid rows").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("link", name="Download the skipped rows (CSV)")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 2


def test_feeds_page_adds_a_feed_and_shows_its_sync(signed_in, live_server, served,  # noqa: F811
                                                    run_worker):
    day = datetime.now(UTC) + timedelta(days=2)
    served.bodies["/practice.ics"] = _calendar(*(
        _event(f"{i}@feed", (day + timedelta(days=i)).strftime("%Y%m%dT093000"), name,
               f"{name.split()[0].lower()}@example.com")
        for i, name in enumerate(("Ana Lopez", "Bo Diaz", "Cy Roe"))))
    feeds.add_feed(name="Old Outlook calendar", url=served.base + "/outlook/calendar.ics",
                   allow_private=True, interval_minutes=60)
    db.session.commit()
    page = signed_in()
    page.goto(f"{live_server}/import/feeds")
    page.get_by_label("Name").fill("Practice calendar")
    page.get_by_label("Feed address").fill(served.base + "/practice.ics")
    page.get_by_role("button", name="Add the feed").click()
    expect(page.locator("#import-feeds")).to_contain_text(
        "is a private or local address; an Admin must allow private addresses")
    page.get_by_label("Allow a private or local address").check()
    page.get_by_role("button", name="Add the feed").click()
    page.wait_for_load_state("networkidle")
    sync_due_feeds()  # what rq cron does every minute
    run_worker(queues=("low",))
    page.goto(f"{live_server}/import/feeds")
    rows = page.locator("table.import-feeds tbody tr")
    expect(rows.filter(has_text="Practice calendar")).to_contain_text("created 3")
    expect(rows.filter(has_text="Old Outlook calendar")).to_contain_text(
        "The feed answered HTTP 404.")
    screenshot(page, "feeds")
