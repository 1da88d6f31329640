"""The column-mapping step: other systems' CSV exports are recognised, mapped, and read with
their own date formats; a mapping can be corrected and is remembered for the same header."""

from datetime import UTC, datetime

from sqlalchemy import select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import confirm, counts, mapping_form, text, token_of, upload_fixture


def _map(client, name: str, **changes):
    """Upload a fixture, take the guessed mapping with `changes`, and post it."""
    page = upload_fixture(client, name)
    assert page.status_code == 200 and "Which column is what?" in text(page), text(page)
    return page, client.post("/import/map", data=mapping_form(page) | changes)


def _appointments() -> dict[str, Appointment]:
    db.session.expire_all()
    return {a.external_uid or a.title: a for a in db.session.scalars(select(Appointment))}


def test_google_contacts_is_a_clients_only_import(app, client_for):
    client = client_for(Role.EDIT)
    page, preview = _map(client, "google_contacts.csv")
    assert "Recognised: <strong>Google Contacts</strong>" in text(page)
    assert preview.status_code == 200, text(preview)
    assert "Import 2 rows" in text(preview)
    assert confirm(client, preview).status_code == 303
    assert counts()[:2] == (2, 0)
    ben = db.session.scalar(select(Client).where(Client.email == "ben@okafor.example"))
    assert (ben.first_name, ben.last_name, ben.company, ben.mobile) == (
        "Ben", "Okafor", "Okafor Builders", "+12025550144")


def test_practice_export_with_last_first_names_12_hour_times_and_status_words(app,
                                                                              client_for):
    client = client_for(Role.EDIT)
    page, preview = _map(client, "practice_reminders.csv")
    assert "Practice-management reminder export" in text(page)
    assert preview.status_code == 200, text(preview)
    assert confirm(client, preview).status_code == 303
    visits = _appointments()
    assert visits["A-1001"].start_at == datetime(2030, 3, 4, 14, 30, tzinfo=UTC)
    assert visits["A-1001"].end_at == datetime(2030, 3, 4, 15, 0, tzinfo=UTC)  # 30 by default
    assert (visits["A-1001"].title, visits["A-1001"].staff) == ("New patient", "Dr. Lee")
    assert visits["A-1002"].status == "cancelled"  # No-show
    assert visits["A-1003"].start_at == datetime(2030, 3, 14, 18, 0, tzinfo=UTC)  # 3/14: m/d
    okafor = db.session.get(Client, visits["A-1002"].client_id)
    assert (okafor.first_name, okafor.last_name, okafor.contact_method) == (
        "Ben", "Okafor", "none")  # a home phone only: kept, never texted

    # The same export tomorrow: the saved mapping is offered, nothing is imported twice.
    page, again = _map(client, "practice_reminders.csv")
    assert "The mapping you saved for files with these columns" in text(page)
    assert token_of(again) is None and "already up to date" in text(again)


def test_outlook_calendar_csv_takes_the_number_from_a_labelled_description_line(app,
                                                                               client_for):
    client = client_for(Role.EDIT)
    page, preview = _map(client, "outlook_calendar.csv")
    assert "Outlook calendar" in text(page)
    confirm(client, preview)
    visits = _appointments()
    bo = visits["Braces adjustment"]
    assert (bo.start_at, bo.end_at) == (datetime(2030, 3, 14, 18, 0, tzinfo=UTC),
                                        datetime(2030, 3, 14, 18, 45, tzinfo=UTC))
    diaz = db.session.get(Client, bo.client_id)
    assert (diaz.first_name, diaz.last_name, diaz.mobile) == ("Bo", "Diaz", "+12025550144")


def test_day_first_dates_semicolons_a_bom_and_excel_serials(app, client_for):
    client = client_for(Role.EDIT)
    _, preview = _map(client, "semicolons_day_first.csv")
    confirm(client, preview)
    _, preview = _map(client, "excel_serial.csv")
    confirm(client, preview)
    visits = _appointments()
    assert visits["Kontrolle"].start_at == datetime(2030, 3, 4, 19, 30, tzinfo=UTC)  # 4 March
    assert visits["Reinigung"].start_at == datetime(2030, 3, 13, 13, 15, tzinfo=UTC)
    assert visits["Check-up"].start_at == datetime(2030, 3, 4, 14, 30, tzinfo=UTC)
    assert visits["Check-up"].end_at == datetime(2030, 3, 4, 15, 15, tzinfo=UTC)
    names = {(c.first_name, c.last_name) for c in db.session.scalars(select(Client))}
    assert ("Jürgen", "Müller") in names


def test_the_user_chooses_ambiguous_dates_and_fixes_a_wrong_mapping(app, client_for):
    client = client_for(Role.EDIT)
    page, refused = _map(client, "practice_reminders.csv", **{"columns-5": "mobile"})
    assert refused.status_code == 422
    assert "“Mobile” is chosen for more than one column" in text(refused)
    form = mapping_form(page) | {"dates": "dmy"}
    preview = client.post("/import/map", data=form)
    assert "row 4: date “3/14/2030” is not a date" in text(preview)
    assert "Change the column mapping" in text(preview)


def test_outlook_contacts_take_the_mobile_and_keep_a_home_phone_for_email(app, client_for):
    client = client_for(Role.EDIT)
    page, preview = _map(client, "outlook_contacts.csv")
    assert "Recognised: <strong>Outlook contacts</strong>" in text(page)
    assert confirm(client, preview).status_code == 303
    clients = {c.email: c for c in db.session.scalars(select(Client))}
    ana, kim = clients["ana@example.com"], clients["kim@parkdental.example"]
    assert (ana.mobile, ana.contact_method) == ("+12025550143", "text")  # not the office
    assert (kim.company, kim.mobile, kim.contact_method) == (
        "Park Dental", "+12025550177", "email")


def test_the_first_rows_are_shown_as_the_mapping_reads_them(app, client_for):
    client = client_for(Role.EDIT)
    page = upload_fixture(client, "practice_reminders.csv")
    assert "The first rows as they will be read" in text(page)
    assert "Mon 2030-03-04 09:30" in text(page)
    form = mapping_form(page) | {"dates": "dmy"}  # what htmx posts when a choice changes
    fragment = client.post("/import/map/sample", data=form, headers={"HX-Request": "true"})
    body = text(fragment)
    assert body.lstrip().startswith('<div id="import-mapping-sample"')
    assert "Wed 2030-04-03 09:30" in body  # 03/04 read as 3 April
    assert "row 4: date “3/14/2030” is not a date" in body
    assert counts() == (0, 0, 0)
