"""Issue #2 flows in Chromium: filter appointments, select across pages, client card, CSV import."""

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from core.appointments.models import Appointment
from core.extensions import db
from tests.browser.conftest import screenshot


def _appointments(make_client, make_appointment, n=30):
    """n appointments over the next days; one client named Zelda for the search."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    clients = [make_client(first_name=name, last_name="Doe") for name in ("Ann", "Ben", "Cleo")]
    zelda = make_client(first_name="Zelda", last_name="Quinn", company="Quinn Plumbing")
    for i in range(n):
        make_appointment(client=clients[i % 3], start_at=start + timedelta(hours=3 * i),
                         title=f"Visit {i}")
    make_appointment(client=zelda, start_at=start + timedelta(hours=2), title="Boiler repair")
    return zelda


def test_filter_select_across_pages_and_open_client_card(signed_in, live_server, make_client,
                                                         make_appointment):
    zelda = _appointments(make_client, make_appointment)
    page = signed_in()
    page.goto(f"{live_server}/appointments")
    rows = page.locator("table.appointments tbody tr")
    expect(rows).to_have_count(25)
    screenshot(page, "appointments")

    # Tick two on the first page and one on the second: the bar counts all three.
    page.locator("input.pick").nth(0).check()
    expect(page.locator(".selection-count")).to_have_text("1 selected")
    page.locator("input.pick").nth(1).check()
    expect(page.locator(".selection-count")).to_have_text("2 selected")
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_role("link", name="← Previous")).to_be_visible()
    page.locator("input.pick").nth(0).check()
    expect(page.locator(".selection-count")).to_have_text("3 selected")
    # Back on the first page the two ticks are still there.
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator("input.pick").nth(0)).to_be_checked()
    expect(page.locator("input.pick").nth(1)).to_be_checked()
    expect(page.locator(".selection-count")).to_have_text("3 selected")

    # Search narrows the list without a reload.
    page.get_by_label("Search").fill("Quinn")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=Quinn"))
    page.get_by_role("link", name="Zelda Quinn").click()
    expect(page.get_by_role("heading", name="Zelda Quinn")).to_be_visible()
    expect(page.get_by_text("Quinn Plumbing").first).to_be_visible()
    assert f"/clients/{zelda.id}" in page.url
    screenshot(page, "client-card")


CSV_ONE_BAD_ROW = (
    "first_name,last_name,mobile,email,start,end,title\n"
    "Ada,Lovelace,+1 202 555 0181,ada@example.com,2030-03-04 09:00,2030-03-04 10:00,Check-up\n"
    "Bob,Broken,12345,bob@example.com,2030-03-04 11:00,2030-03-04 12:00,Check-up\n"
    "Cy,Clean,+1 202 555 0183,cy@example.com,2030-03-05 09:00,2030-03-05 10:00,Cleaning\n"
)


def test_csv_import_with_one_bad_row_shows_the_row_and_saves_nothing(signed_in, live_server,
                                                                     tmp_path):
    page = signed_in()
    page.goto(f"{live_server}/import/")
    path = tmp_path / "clients.csv"
    path.write_text(CSV_ONE_BAD_ROW)
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Preview").click()
    errors = page.locator("ul.row-errors")
    expect(errors).to_contain_text("row 3")
    expect(errors).to_contain_text("12345")
    # Only the explicit partial choice is offered, never "Import 3 rows" (all or nothing).
    expect(page.get_by_role("button", name="Import 3 rows")).to_have_count(0)
    expect(page.get_by_role("button", name="Import the 2 valid rows")).to_have_count(1)
    screenshot(page, "import-preview")
    db.session.expire_all()
    assert db.session.query(Appointment).count() == 0
