"""The client form's time-zone list: the business's country first, then every other zone,
without the database's non-zones, and a search box that narrows it (Chromium)."""

import re
from pathlib import Path

import pytest

from core import settings
from core.auth.models import Role
from core.clients import zones
from core.extensions import db
from tests.browser.conftest import CHROMIUM

NON_ZONES = ("Factory", "localtime", "posixrules", "US/Eastern", "Etc/GMT+5", "EST5EDT")


def _options(page: str) -> list[tuple[str, str]]:
    """(group, value) of each option of the zone select, in order."""
    select = page[page.index('<select id="timezone"'):]
    select = select[:select.index("</select>")]
    found, group = [], ""
    for match in re.finditer(r'<optgroup label="([^"]*)">|<option value="([^"]*)"', select):
        if match.group(1) is not None:
            group = match.group(1)
        else:
            found.append((group, match.group(2)))
    return found


def test_the_business_country_comes_first_then_the_rest_without_non_zones(client_for):
    page = client_for(Role.EDIT).get("/clients/new").get_data(as_text=True)
    options = _options(page)
    assert options[0] == ("", "")  # "From the mobile number"
    groups = list(dict.fromkeys(group for group, _ in options[1:]))
    assert groups == ["United States", "Other countries", "Other"]
    home = [value for group, value in options if group == "United States"]
    assert home[0] == "America/New_York" and "America/Los_Angeles" in home
    assert "Pacific/Honolulu" in home and "Europe/Paris" not in home
    rest = [value for group, value in options if group == "Other countries"]
    assert rest == sorted(rest) and "Europe/Paris" in rest and "America/Toronto" in rest
    assert not set(home) & set(rest)
    values = {value for _, value in options}
    assert not values & set(NON_ZONES)
    assert "UTC" in values
    assert "Paris — France" in page  # a zone names its country, so a search by country finds it


def test_another_business_country_leads_the_list(client_for):
    settings.set("business_timezone", "Europe/Berlin")
    page = client_for(Role.EDIT).get("/clients/new").get_data(as_text=True)
    options = _options(page)
    assert options[1][0] == "Germany"
    assert [v for g, v in options if g == "Germany"] == ["Europe/Berlin", "Europe/Busingen"]


def test_a_listed_zone_saves_and_a_non_zone_is_refused(client_for, make_client):
    ann = make_client(first_name="Ann", mobile="+12025550101")
    http = client_for(Role.EDIT)
    form = {"first_name": "Ann", "last_name": "", "company": "", "mobile": "+12025550101",
            "email": "", "contact_method": "text"}
    assert http.post(f"/clients/{ann.id}/edit",
                     data={**form, "timezone": "Europe/Lisbon"}).status_code == 303
    db.session.refresh(ann)
    assert ann.timezone == "Europe/Lisbon"
    refused = http.post(f"/clients/{ann.id}/edit", data={**form, "timezone": "Factory"})
    assert refused.status_code == 422
    assert "“Factory” is not a time zone people live in" in refused.get_data(as_text=True)


def test_a_clients_old_alias_zone_stays_selected(client_for, make_client):
    bob = make_client(first_name="Bob", mobile="+12025550102")
    bob.timezone = "US/Pacific"
    db.session.commit()
    page = client_for(Role.EDIT).get(f"/clients/{bob.id}/edit").get_data(as_text=True)
    assert '<option value="US/Pacific" selected>' in page


def test_the_shipped_tables_name_their_source_and_match_zoneinfo():
    for name in ("zone.tab", "iso3166.tab"):
        head = (zones.DATA / name).read_text().splitlines()[0]
        assert head.startswith("# Source: IANA tz database") and "tzdata" in head
    assert len(zones.zones()) > 400
    assert zones.country_of("Australia/Sydney") == "AU"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
def test_searching_narrows_the_list_to_matching_zones(signed_in, live_server, make_client):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550101")
    page = signed_in(Role.EDIT)
    page.goto(f"{live_server}/clients/{ann.id}/edit")
    search = page.get_by_label("Search time zones")
    search.fill("france")
    visible = page.locator("#timezone optgroup option:not([hidden])")
    assert visible.evaluate_all("options => options.map(o => o.value)") == ["Europe/Paris"]
    assert page.locator("#timezone").input_value() == "Europe/Paris"  # the one match is picked
    search.fill("port of")
    assert "America/Port_of_Spain" in visible.evaluate_all("os => os.map(o => o.value)")
    search.fill("nowhere-at-all")
    assert page.get_by_text("No zone matches").is_visible()
    search.fill("paris")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/clients/{ann.id}$"))
    db.session.refresh(ann)
    assert ann.timezone == "Europe/Paris"
