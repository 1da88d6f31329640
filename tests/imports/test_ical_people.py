"""Who an iCal event is for: never the organizer or the business itself, a number only from a
labelled line and never the business's own, and names written "Last, First (dept)"."""

import re

from sqlalchemy import select

from core import settings
from core.appointments.models import Appointment
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import confirm, csv_file, fixture, text, upload, upload_fixture


def _clients_by_title() -> dict[str, Client]:
    db.session.expire_all()
    return {a.title: db.session.get(Client, a.client_id)
            for a in db.session.scalars(select(Appointment))}


def test_google_owner_attendee_is_not_the_client(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload_fixture(client, "google_owner_attendee.ics")
    body = text(preview)
    # X-WR-CALNAME names the owner of a Google calendar: excluded without being told.
    assert ("event 3: no client: every ATTENDEE is the organizer or one of your own addresses"
            in body)
    assert "1 new client" not in body and "2 new clients" in body
    confirm(client, preview, partial=True)
    clients = _clients_by_title()
    assert clients["Boiler service"].email == "ben.okafor@example.com"
    assert (clients["Boiler service"].first_name, clients["Boiler service"].last_name,
            clients["Boiler service"].mobile) == ("Ben", "Okafor", "+447911123456")
    assert clients["Annual check"].email == "ada@example.com"
    assert "Lunch" not in clients


def test_apple_organizer_and_rooms_are_skipped_and_this_is_me_is_remembered(app, client_for):
    client = client_for(Role.EDIT)
    preview = upload_fixture(client, "apple_organizer.ics")
    assert "event 2:" not in text(preview)  # without being told, the front desk looks a client

    preview = upload_fixture(client, "apple_organizer.ics",
                             own_addresses="FrontDesk@clinic.example, ")
    body = text(preview)
    assert "event 2: no client: every ATTENDEE is the organizer or one of your own" in body
    assert settings.get("import_own_addresses") == "frontdesk@clinic.example"
    assert 'value="frontdesk@clinic.example"' in text(client.get("/import/"))
    remembered = text(upload_fixture(client, "apple_organizer.ics"))  # the field not sent
    assert "event 2: no client: every ATTENDEE is the organizer or one of your own" in remembered
    confirm(client, preview, partial=True)
    bo = _clients_by_title()["Cleaning"]
    assert (bo.email, bo.first_name, bo.last_name) == ("bo@example.com", "Bo", "Diaz")


def test_an_address_in_most_events_is_pointed_out_and_this_is_me_reads_it_again(app,
                                                                                 client_for):
    client = client_for(Role.EDIT)
    # The Google file without the owner's calendar name and as organizer.
    data = fixture("google_owner_attendee.ics").replace(
        b"X-WR-CALNAME:owner.clinic@gmail.com", b"X-WR-CALNAME:Clinic").replace(
        b"ORGANIZER;CN=owner.clinic@gmail.com:mailto:owner.clinic@gmail.com\r\n", b"")
    preview = upload(client, data, "calendar.ics")
    body = text(preview)
    assert "<strong>owner.clinic@gmail.com</strong> attends 3 of the 3 events" in body
    assert "event 3:" not in body  # the owner alone at lunch looks like a client
    token = re.search(r'name="token" value="([^"]+)">\s*<input type="hidden" name="address"',
                      body)[1]
    again = client.post("/import/this-is-me",
                        data={"token": token, "address": "owner.clinic@gmail.com"})
    body = text(again)
    assert "event 3: no client: every ATTENDEE is the organizer or one of your own" in body
    assert "attends 3 of the 3 events" not in body
    assert settings.get("import_own_addresses") == "owner.clinic@gmail.com"


def test_phone_numbers_only_from_labelled_lines_and_never_the_business_number(app, client_for):
    client = client_for(Role.EDIT)
    settings.set("business_phone", "(202) 555-0100")
    db.session.commit()
    preview = upload_fixture(client, "description_phones.ics")
    body = text(preview)
    assert "event 3: no client: add an ATTENDEE with a mailto: email, or a labelled phone" in body
    confirm(client, preview, partial=True)
    clients = _clients_by_title()
    ana = clients["Travel consult"]
    assert (ana.mobile, ana.email) == (None, "ana@example.com")  # not the hotel's, not BA's
    ben = clients["Follow-up"]
    assert (ben.mobile, ben.first_name, ben.last_name) == ("+12025550144", "Ben", "Okafor")


def test_csv_with_one_full_name_column(app, client_for):
    client = client_for(Role.EDIT)
    content = csv_file(
        '"Lopez, Ana (Cardiology)",+12025550143,,2030-03-04 09:30,2030-03-04 10:00,Check-up',
        "Ben Okafor,+12025550144,,2030-03-04 11:00,2030-03-04 11:30,Check-up",
        "LOPEZ,MARIA,+12025550145,,2030-03-04 12:00,2030-03-04 12:30,Check-up",
        header="Name,mobile,email,start,end,title")
    preview = upload(client, content)
    body = text(preview)
    assert "row 4: has 7 values but the header has 6 columns" in body
    confirm(client, preview, partial=True)
    names = {(c.first_name, c.last_name) for c in db.session.scalars(select(Client))}
    assert names == {("Ana", "Lopez"), ("Ben", "Okafor")}
