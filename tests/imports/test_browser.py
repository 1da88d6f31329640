"""In Chromium: a practice system's export is recognised on the mapping screen, one choice is
corrected, and the preview then shows the rows as read (and the preview imports them)."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

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
