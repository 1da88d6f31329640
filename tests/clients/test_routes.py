"""Client pages: list, search, card, create and edit forms, roles, htmx fragments."""

import re

from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Message

HX = {"HX-Request": "true"}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _form(**overrides) -> dict:
    data = {"first_name": "Nina", "last_name": "Park", "company": "Blue Fern Yoga",
            "mobile": "(202) 555-0142", "email": "nina@example.com", "contact_method": "text",
            "timezone": ""}
    data.update(overrides)
    return data


def test_create_client_then_see_the_card(client_for):
    browser = client_for(Role.EDIT)
    response = browser.post("/clients/new", data=_form())
    assert response.status_code == 303
    client = db.session.scalars(select(Client)).one()
    assert response.location == f"/clients/{client.id}"
    assert (client.mobile, client.timezone) == ("+12025550142", "America/New_York")
    card = browser.get(response.location).get_data(as_text=True)
    assert "Nina Park" in card and "+1 202-555-0142" in card
    assert "Client Nina Park created" in card
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.client_id, event.actor_id) == (
        "client.created", client.id, browser.user.id)


def test_htmx_create_answers_with_hx_redirect(client_for):
    response = client_for(Role.EDIT).post("/clients/new", data=_form(), headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/clients/")


def test_malformed_number_is_refused_with_the_form_and_nothing_written(client_for):
    response = client_for(Role.EDIT).post("/clients/new", data=_form(mobile="555-01"))
    assert response.status_code == 422
    assert "“555-01” is not a valid phone number." in response.get_data(as_text=True)
    assert _count(Client) == 0 and _count(AuditEvent) == 0


def test_landline_typed_in_full_is_refused(client_for):
    response = client_for(Role.EDIT).post(
        "/clients/new", data=_form(mobile="+44 20 7946 0000"), headers=HX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "landline or service number and cannot receive texts" in html
    assert "<html" not in html and 'id="client-form"' in html
    assert _count(Client) == 0


def test_landline_in_the_default_region_is_refused(app, client_for):
    app.config["DEFAULT_REGION"] = "GB"
    response = client_for(Role.EDIT).post("/clients/new", data=_form(mobile="020 7946 0000"))
    assert response.status_code == 422
    assert "“020 7946 0000” is a landline" in response.get_data(as_text=True)
    assert _count(Client) == 0


def test_duplicate_mobile_is_refused_clearly(client_for, make_client):
    make_client(first_name="Maria", last_name="Garcia", mobile="+12025550142")
    response = client_for(Role.EDIT).post("/clients/new", data=_form())
    assert response.status_code == 422
    assert "+1 202-555-0142 already belongs to Maria Garcia." in response.get_data(as_text=True)
    assert _count(Client) == 1


def test_bad_email_is_refused(client_for):
    response = client_for(Role.EDIT).post("/clients/new", data=_form(email="nina@"))
    assert response.status_code == 422
    assert "Enter a valid email address." in response.get_data(as_text=True)
    assert _count(Client) == 0


def test_edit_is_audited_and_shown_on_the_card(client_for, make_client):
    browser = client_for(Role.EDIT)
    client = make_client(first_name="Nina", last_name="Park", mobile="+12025550142",
                         email="nina@example.com", company="Blue Fern Yoga")
    form = browser.get(f"/clients/{client.id}/edit").get_data(as_text=True)
    assert 'value="+12025550142"' in form
    response = browser.post(f"/clients/{client.id}/edit",
                            data=_form(email="nina.park@example.com", timezone="America/New_York"))
    assert response.status_code == 303
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "client.edited")).one()
    assert event.data["changes"] == {"email": ["nina@example.com", "nina.park@example.com"]}
    card = browser.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "email: nina@example.com → nina.park@example.com" in card


def test_read_only_staff_cannot_create_or_edit(client_for, make_client):
    browser = client_for(Role.READ_ONLY)
    client = make_client(first_name="Keep")
    assert browser.post("/clients/new", data=_form()).status_code == 403
    assert browser.post(f"/clients/{client.id}/edit", data=_form()).status_code == 403
    db.session.expire_all()
    assert _count(Client) == 1 and db.session.get(Client, client.id).first_name == "Keep"
    page = browser.get("/clients").get_data(as_text=True)
    assert "New client" not in page


def test_missing_client_is_404(client_for):
    browser = client_for(Role.EDIT)
    assert browser.get("/clients/987654").status_code == 404
    assert browser.get("/clients/987654/edit").status_code == 404
    assert browser.post("/clients/987654/edit", data=_form()).status_code == 404


def test_list_is_a_page_and_search_is_a_fragment_for_htmx(client_for, make_client):
    make_client(first_name="Ann", mobile="+12025550199")
    make_client(first_name="Bob", mobile="+13125550100")
    browser = client_for(Role.READ_ONLY)
    full = browser.get("/clients").get_data(as_text=True)
    assert full.startswith("<!doctype html>") and 'id="clients-table"' in full
    fragment = browser.get("/clients?q=(202) 555-0199", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="clients-table"')
    assert "Ann" in fragment and "Bob" not in fragment


def test_list_pages_with_next_and_previous_links(app, client_for, make_client):
    app.config["PAGE_SIZE"] = 2
    names = [make_client(first_name=f"N{n}", last_name=f"L{n}").name for n in range(5)]
    browser = client_for(Role.READ_ONLY)
    seen, url = [], "/clients"
    while url:
        html = browser.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/clients/\d+">([^<]+)</a>', html)
        match = re.search(r'href="(/clients\?after=[^"]+)"', html)
        url = match and match.group(1).replace("&amp;", "&")
    assert seen == names
    assert "← Previous" in html


def test_card_shows_opt_out_appointments_and_messages_newest_first(
    client_for, make_client, make_appointment
):
    client = make_client(first_name="Stop", opted_out=True)
    make_appointment(client=client, title="Dental cleaning")
    for body in ("first text", "second text"):
        db.session.add(Message(client_id=client.id, channel="sms", to_addr=client.mobile,
                               body=body, status="delivered"))
    db.session.commit()
    html = client_for(Role.READ_ONLY).get(f"/clients/{client.id}").get_data(as_text=True)
    assert "badge badge-bad opted-out" in html
    assert "Dental cleaning" in html
    assert html.index("second text") < html.index("first text")
    assert f"/clients/{client.id}/edit" not in html
