"""Ticked appointments survive paging and filtering, kept per browser session in Redis."""

import re

from blueprints.appointments import selection
from core.auth.models import Role
from tests.appointments.conftest import local, next_link, row_ids

HX = {"HX-Request": "true"}


def _tick(browser, appointment_id: int, page_ids, on: bool = True):
    data = {"page_ids": ",".join(map(str, page_ids))}
    if on:
        data["selected"] = "1"
    return browser.post(f"/appointments/{appointment_id}/select", data=data, headers=HX)


def _checked(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="pick-(\d+)"[^>]*?\s+checked', html)]


def test_three_rows_over_two_pages_stay_selected(app, client_for, make_client, make_appointment):
    app.config["PAGE_SIZE"] = 3
    client = make_client()
    ids = [make_appointment(client=client, start_at=local(1, 9 + n)).id for n in range(5)]
    browser = client_for(Role.READ_ONLY)
    first = browser.get("/appointments").get_data(as_text=True)
    assert row_ids(first) == ids[:3]
    _tick(browser, ids[0], ids[:3])
    answer = _tick(browser, ids[2], ids[:3]).get_data(as_text=True)
    assert "2 selected" in answer and "<html" not in answer
    second_url = next_link(first)
    second = browser.get(second_url).get_data(as_text=True)
    assert row_ids(second) == ids[3:]
    _tick(browser, ids[4], ids[3:])
    second = browser.get(second_url).get_data(as_text=True)
    assert "3 selected" in second
    assert _checked(second) == [ids[4]]
    assert _checked(browser.get("/appointments").get_data(as_text=True)) == [ids[0], ids[2]]
    # A filter that hides them does not forget them.
    assert "3 selected" in browser.get("/appointments?q=nobody").get_data(as_text=True)
    with browser:
        browser.get("/appointments")
        assert selection.selected_ids() == sorted([ids[0], ids[2], ids[4]])


def test_unticking_removes_one(client_for, make_appointment):
    a, b = make_appointment(), make_appointment(start_at=local(2))
    browser = client_for(Role.READ_ONLY)
    _tick(browser, a.id, [a.id, b.id])
    _tick(browser, b.id, [a.id, b.id])
    answer = _tick(browser, a.id, [a.id, b.id], on=False).get_data(as_text=True)
    assert "1 selected" in answer
    # The "all on this page" box is refreshed out of band and is no longer ticked.
    assert re.search(r'<input type="checkbox" id="select-page"[^>]*hx-swap-oob', answer)
    assert not re.search(r'id="select-page"[^>]*\s+checked', answer)


def test_select_all_on_the_page_and_clear(client_for, make_appointment):
    ids = [make_appointment(start_at=local(1, 9 + n)).id for n in range(4)]
    browser = client_for(Role.READ_ONLY)
    page_ids = ",".join(map(str, ids))
    answer = browser.post("/appointments/selection/page",
                          data={"page_ids": page_ids, "selected": "1"}, headers=HX)
    html = answer.get_data(as_text=True)
    assert "4 selected" in html
    assert sorted(_checked(html)) == ids  # every row checkbox comes back ticked, out of band
    assert html.count('hx-swap-oob="true"') == len(ids) + 1
    html = browser.post("/appointments/selection/clear", data={"page_ids": page_ids},
                        headers=HX).get_data(as_text=True)
    assert "0 selected" in html and _checked(html) == []
    with browser:
        browser.get("/appointments")
        assert selection.selected_ids() == []


def test_unknown_ids_are_not_selected(client_for):
    browser = client_for(Role.READ_ONLY)
    assert _tick(browser, 987654, []).status_code == 404
    html = browser.post("/appointments/selection/page",
                        data={"page_ids": "987654,abc", "selected": "1"}, headers=HX)
    assert "0 selected" in html.get_data(as_text=True)


def test_each_user_has_their_own_selection(client_for, make_appointment):
    appointment = make_appointment()
    one, two = client_for(Role.READ_ONLY), client_for(Role.EDIT)
    _tick(one, appointment.id, [appointment.id])
    assert "1 selected" in one.get("/appointments").get_data(as_text=True)
    assert "0 selected" in two.get("/appointments").get_data(as_text=True)


def test_plain_post_redirects_back(client_for, make_appointment):
    appointment = make_appointment()
    response = client_for(Role.READ_ONLY).post(
        f"/appointments/{appointment.id}/select", data={"selected": "1"},
        headers={"Referer": "http://localhost/appointments?q=x"},
    )
    assert response.status_code == 303
    assert response.location.endswith("/appointments?q=x")


def test_compose_button_only_when_compose_exists_and_something_is_selected(
    app, client_for, make_appointment
):
    appointment = make_appointment()
    browser = client_for(Role.EDIT)
    assert "Compose message" not in browser.get("/appointments").get_data(as_text=True)
    _tick(browser, appointment.id, [appointment.id])
    html = browser.get("/appointments").get_data(as_text=True)
    assert ("Compose message" in html) == ("compose.new" in app.view_functions)
