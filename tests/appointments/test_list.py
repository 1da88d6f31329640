"""The appointment list: filters, search, keyset paging, message counts, page vs fragment."""

import re

from core.auth.models import Role
from tests.appointments.conftest import local, next_link, row_ids

HX = {"HX-Request": "true"}


def test_default_range_is_today_and_the_next_two_weeks(client_for, make_appointment):
    past = make_appointment(start_at=local(-1))
    soon = make_appointment(start_at=local(1))
    last = make_appointment(start_at=local(14, 23, 30))
    later = make_appointment(start_at=local(15, 9))
    html = client_for(Role.READ_ONLY).get("/appointments").get_data(as_text=True)
    assert row_ids(html) == [soon.id, last.id]
    assert past.id not in row_ids(html) and later.id not in row_ids(html)


def test_date_filter_uses_the_business_time_zone(client_for, make_appointment):
    # 11:30 PM in New York is already the next day in UTC; it belongs to its local day.
    late = make_appointment(start_at=local(3, 23, 30))
    make_appointment(start_at=local(4, 0, 30))
    day = local(3).date().isoformat()
    html = client_for(Role.READ_ONLY).get(f"/appointments?start={day}&end={day}")
    assert row_ids(html.get_data(as_text=True)) == [late.id]


def test_search_covers_client_company_title_job_and_mobile(
    client_for, make_client, make_appointment
):
    ann = make_client(first_name="Ann", last_name="Lee", company="Harbor Cafe",
                      mobile="+12025550199")
    a1 = make_appointment(client=ann, title="Boiler service", job_number="J-77")
    a2 = make_appointment(title="Eye exam", start_at=local(2))
    browser = client_for(Role.READ_ONLY)
    for text, expected in [("ann lee", [a1.id]), ("harbor", [a1.id]), ("boiler", [a1.id]),
                           ("j-77", [a1.id]), ("(202) 555-0199", [a1.id]),
                           ("eye", [a2.id]), ("nothing like it", [])]:
        html = browser.get("/appointments", query_string={"q": text}).get_data(as_text=True)
        assert row_ids(html) == expected, text


def test_status_filter(client_for, make_appointment):
    make_appointment(status="scheduled")
    done = make_appointment(status="completed", start_at=local(2))
    html = client_for(Role.READ_ONLY).get("/appointments?status=completed").get_data(as_text=True)
    assert row_ids(html) == [done.id]


def test_bad_filters_fall_back_and_say_so(client_for, make_appointment):
    shown = make_appointment(start_at=local(1))
    html = client_for(Role.READ_ONLY).get(
        "/appointments?start=not-a-date&status=bogus").get_data(as_text=True)
    assert "Not a valid date value." in html
    assert row_ids(html) == [shown.id]
    reversed_range = client_for(Role.READ_ONLY).get(
        f"/appointments?start={local(5).date()}&end={local(1).date()}").get_data(as_text=True)
    assert "“To” is before “From”." in reversed_range


def test_keyset_paging_walks_every_row_once_both_ways(app, client_for, make_client,
                                                       make_appointment):
    app.config["PAGE_SIZE"] = 3
    client = make_client()
    # Ties on the start time are broken by id, so no row is skipped or repeated.
    starts = [local(1, 9), local(1, 9), local(1, 9), local(2, 9), local(2, 10), local(3, 9),
              local(3, 9), local(4, 11)]
    made = [make_appointment(client=client, start_at=s) for s in starts]
    expected = [a.id for a in sorted(made, key=lambda a: (a.start_at, a.id))]
    browser = client_for(Role.READ_ONLY)
    pages, url = [], "/appointments?q=" + client.first_name
    while url:
        html = browser.get(url).get_data(as_text=True)
        pages.append(row_ids(html))
        url = next_link(html)
        assert url is None or "after=" in url
    assert pages == [expected[0:3], expected[3:6], expected[6:8]]
    back, url = [], next_link(html, "← Previous")
    while url:
        html = browser.get(url).get_data(as_text=True)
        back.append(row_ids(html))
        url = next_link(html, "← Previous")
    assert back == [expected[3:6], expected[0:3]]
    assert next_link(html) is not None


def test_pager_links_keep_the_filters(app, client_for, make_appointment):
    app.config["PAGE_SIZE"] = 1
    make_appointment(title="Eye exam")
    make_appointment(title="Eye exam", start_at=local(2))
    html = client_for(Role.READ_ONLY).get("/appointments?q=eye&status=scheduled")
    link = next_link(html.get_data(as_text=True))
    assert "q=eye" in link and "status=scheduled" in link and "start=" in link


def test_messages_column_counts_outbound_messages(client_for, make_appointment, add_message):
    busy = make_appointment(start_at=local(1))
    quiet = make_appointment(start_at=local(2))
    add_message(busy)
    add_message(busy)
    add_message(busy, direction="in", body="YES")
    add_message(quiet)
    html = client_for(Role.READ_ONLY).get("/appointments").get_data(as_text=True)
    counts = dict(re.findall(r'<tr id="appointment-(\d+)".*?<td class="num">(\d+)</td>', html,
                             re.S))
    assert counts == {str(busy.id): "2", str(quiet.id): "1"}


def test_list_query_count_does_not_grow_with_rows(
    app, client_for, make_client, make_appointment, add_message, query_counter
):
    browser = client_for(Role.READ_ONLY)
    client = make_client()

    def statements_for_page() -> int:
        with query_counter() as statements:
            assert browser.get("/appointments").status_code == 200
        return len(statements)

    for n in range(2):
        add_message(make_appointment(client=client, start_at=local(1, 9 + n)))
    few = statements_for_page()
    for n in range(10):
        add_message(make_appointment(client=make_client(), start_at=local(2, 9, n)))
    many = statements_for_page()
    assert many == few


def test_htmx_gets_the_table_fragment_and_a_page_the_whole_page(client_for, make_appointment):
    make_appointment()
    browser = client_for(Role.READ_ONLY)
    full = browser.get("/appointments").get_data(as_text=True)
    assert full.startswith("<!doctype html>")
    assert 'id="appointment-filters"' in full and 'id="appointments-table"' in full
    assert 'hx-push-url="true"' in full and 'id="selection-bar"' in full
    fragment = browser.get("/appointments", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="appointments-table"')
    boosted = browser.get("/appointments", headers={**HX, "HX-Boosted": "true"})
    assert boosted.get_data(as_text=True).startswith("<!doctype html>")


def test_dashboard_sends_staff_to_the_appointments(client_for):
    response = client_for(Role.READ_ONLY).get("/")
    assert response.status_code == 302 and response.location == "/appointments"
