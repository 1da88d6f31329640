"""CSV import: preview every row, write nothing until confirmed, then write all or nothing."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.appointments.models import Appointment
from core.audit.models import AuditEvent
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import counts, csv_file, text, token_of, upload


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


def test_good_csv_previews_then_imports_everything(app, client_for, make_client):
    client = client_for(Role.EDIT)
    known = make_client(first_name="Kim", mobile="+12025550100", email="kim@example.com")
    content = csv_file(
        "Ana,Lopez,,(202) 555-0143,ana@example.com,text,2030-03-04 09:30,2030-03-04 10:00,"
        "Check-up,Dr. Lee,Main office,J-1,scheduled",
        "Ana,Lopez,,+1 202 555 0143,,,2030-03-05T09:30:00-08:00,2030-03-05T10:30:00-08:00,"
        "Follow-up,Dr. Lee,Main office,J-1,En Route",
        "Someone,Else,,,KIM@example.com,email,2030-03-06 08:00,2030-03-06 09:00,Cleaning,,,,",
    )
    before = counts()
    preview = upload(client, content)
    assert preview.status_code == 200
    assert "Import 3 rows" in text(preview)
    assert "Kim Test" in text(preview) and "existing" in text(preview)  # matched, not "Someone"
    assert counts() == before, "the preview writes nothing"

    response = client.post("/import/confirm", data={"token": token_of(preview)})
    assert response.status_code == 303
    assert "Imported 3 appointments (1 new client)." in _flashes(client)
    clients, appointments, events = counts()
    assert (clients, appointments) == (before[0] + 1, before[1] + 3)
    assert events == before[2] + 4  # one "imported" per appointment and per new client

    ana = db.session.scalar(select(Client).where(Client.mobile == "+12025550143"))
    assert (ana.first_name, ana.email, ana.contact_method) == ("Ana", "ana@example.com", "text")
    visits = db.session.scalars(select(Appointment).order_by(Appointment.start_at)).all()
    assert visits[0].start_at == datetime(2030, 3, 4, 14, 30, tzinfo=UTC)  # 09:30 New York
    assert visits[1].start_at == datetime(2030, 3, 5, 17, 30, tzinfo=UTC)  # the offset wins
    assert (visits[1].status, visits[1].job_number) == ("en_route", "J-1")
    assert visits[2].client_id == known.id  # matched by email, case aside
    assert db.session.get(Client, known.id).first_name == "Kim"  # existing clients unchanged
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert actions == {"imported"}


def test_one_bad_row_shows_its_error_and_writes_nothing(app, client_for):
    client = client_for(Role.EDIT)
    content = csv_file(
        "Ana,Lopez,,+12025550143,ana@example.com,text,2030-03-04 09:30,2030-03-04 10:00,A,,,,",
        "Ben,Ode,,+12025550144,ben@example.com,text,2030-03-04 09:30,2030-03-04 10:00,B,,,,",
        "Cy,Roe,,12345,cy@example.com,text,2030-03-04 09:30,2030-03-04 10:00,C,,,,",
    )
    before = counts()
    response = upload(client, content)
    assert response.status_code == 422
    assert "row 4: mobile “12345” is not a valid phone number" in text(response)
    assert "Import 3 rows" not in text(response)
    assert "Import the 2 valid rows and skip the 1 with errors" in text(response)
    assert counts() == before

    refused = client.post("/import/confirm", data={"token": ""})
    assert refused.status_code == 400
    # All or nothing stays the default: without the explicit choice nothing is written.
    refused = client.post("/import/confirm", data={"token": token_of(response)})
    assert refused.status_code == 409
    assert counts() == before


def test_columns_are_case_and_space_insensitive_and_semicolons_work(app, client_for):
    client = client_for(Role.EDIT)
    content = ("\ufeffFirst Name; LAST_NAME ;Mobile; Email ;Start;Duration Minutes;Title\r\n"
               "Ana;Lopez;+12025550143;;2030-03-04 9:30;45;Check-up\r\n").encode()
    preview = upload(client, content)
    assert preview.status_code == 200, text(preview)
    assert client.post("/import/confirm", data={"token": token_of(preview)}).status_code == 303
    visit = db.session.scalar(select(Appointment))
    assert visit.end_at - visit.start_at == timedelta(minutes=45)
    assert visit.start_at == datetime(2030, 3, 4, 14, 30, tzinfo=UTC)


def test_other_columns_lead_to_the_mapping_step(app, client_for):
    client = client_for(Role.EDIT)
    content = csv_file("Ana,Lopez,+12025550143,a@example.com,2030-03-04 09:30,Check-up",
                       header="first_name,last_name,phone,email,when,title")
    before = counts()
    response = upload(client, content)
    assert response.status_code == 200
    body = text(response)
    assert "Which column is what?" in body
    assert '<option selected value="home_phone">' in body  # "phone": not known to be a mobile
    assert '<option selected value="start">' in body  # told by the values of "when"
    assert counts() == before


def test_bad_dates_are_row_errors(app, client_for):
    client = client_for(Role.EDIT)
    content = csv_file(
        "Ana,L,,+12025550143,,,2030-02-30 09:00,2030-03-01 10:00,A,,,,",
        "Ben,O,,+12025550144,,,tomorrow,2030-03-01 10:00,B,,,,",
        "Cy,R,,+12025550145,,,2030-03-04 10:00,2030-03-04 09:00,C,,,,",
        "Di,S,,+12025550146,,,2030-03-04,2030-03-05,D,,,,",
        "Ed,T,,+12025550147,,,2030-03-10 02:30,2030-03-10 04:00,E,,,,",
        "Fay,U,,+12025550148,,,2030-03-11 09:00,,F,,,,",
    )
    response = upload(client, content)
    body = text(response)
    assert response.status_code == 422
    assert "row 2: start “2030-02-30 09:00” is not a date and time; use YYYY-MM-DD HH:MM" in body
    assert "row 3: start “tomorrow” is not a date and time" in body
    assert "row 4: end is before start" in body
    assert "row 5: start “2030-03-04” is not a date and time" in body
    assert "row 6: start “2030-03-10 02:30” does not exist in America/New_York" in body
    assert "row 7: give an end or duration_minutes" in body
    assert counts()[1] == 0


def test_duplicates_inside_the_file_and_against_the_database(app, client_for, make_client,
                                                             make_appointment):
    client = client_for(Role.EDIT)
    kim = make_client(mobile="+12025550100")
    make_appointment(client=kim, start_at=datetime(2030, 3, 4, 14, 30, tzinfo=UTC))
    content = csv_file(
        "Ana,L,,+12025550143,,,2030-03-04 09:30,2030-03-04 10:00,A,,,,",
        "Kim,T,,+1 202 555 0100,,,2030-03-04 09:30,2030-03-04 10:00,K,,,,",
        "Ana,L,,,ANA@example.com,,2030-03-05 09:30,2030-03-05 10:00,A,,,,",
        "Ana,L,,202-555-0143,,,2030-03-04 09:30,2030-03-04 11:00,Again,,,,",
        "Ana,L,,+12025550143,,,2030-03-04 09:30,2030-03-04 10:00,A,,,,",
    )
    before = counts()
    response = upload(client, content)
    body = text(response)
    assert response.status_code == 422
    assert "row 3:" not in body  # Kim's appointment at that time is updated, not refused
    assert "row 5: duplicate of row 2" in body  # same client and start, other details
    assert "row 6:" not in body  # an exact repeat of row 2 is skipped
    assert "row 4:" not in body  # another start of the same client is fine
    assert "repeated, skipped" in body and "update" in body
    assert counts() == before


def test_malformed_and_landline_numbers(app, client_for):
    client = client_for(Role.EDIT)
    content = csv_file(
        "Ana,L,,12345,,text,2030-03-04 09:30,2030-03-04 10:00,A,,,,",
        "Ben,O,,not a number,,,2030-03-04 09:30,2030-03-04 10:00,B,,,,",
        "Cy,R,,+44 20 7946 0000,cy@example.com,text,2030-03-04 09:30,2030-03-04 10:00,C,,,,",
        "Di,S,,,di@example.com,text,2030-03-04 09:30,2030-03-04 10:00,D,,,,",
        "Ed,T,,,,,2030-03-04 09:30,2030-03-04 10:00,E,,,,",
        "Fay,U,,,fay@,,2030-03-04 09:30,2030-03-04 10:00,F,,,,",
    )
    body = text(upload(client, content))
    assert "row 2: mobile “12345” is not a valid phone number" in body
    assert "row 3: mobile “not a number” is not a phone number" in body
    assert ("row 4: mobile “+44 20 7946 0000” is a landline or service number and cannot "
            "receive texts; set contact_method to email or none") in body
    assert "row 5: contact_method is text but there is no mobile" in body
    assert "row 6: give a mobile or an email" in body
    assert "row 7: email “fay@” is not a valid email address" in body
    assert counts()[0] == 0


def test_landline_is_kept_for_a_client_reached_by_email(app, client_for):
    client = client_for(Role.EDIT)
    content = csv_file(
        "Cy,R,,+44 20 7946 0000,cy@example.com,email,2030-03-04 09:30,2030-03-04 10:00,C,,,,")
    preview = upload(client, content)
    assert preview.status_code == 200, text(preview)
    client.post("/import/confirm", data={"token": token_of(preview)})
    cy = db.session.scalar(select(Client))
    assert (cy.mobile, cy.contact_method) == ("+442079460000", "email")


def test_data_changed_between_preview_and_confirm_writes_nothing(app, client_for,
                                                                  make_client):
    client = client_for(Role.EDIT)
    kim = make_client(mobile="+12025550100")
    preview = upload(client, csv_file(
        ",,,+12025550100,,,2030-03-04 09:30,2030-03-04 10:00,K,,,,",  # Kim, by her number
        "Ana,L,,+12025550143,,,2030-03-04 09:30,2030-03-04 10:00,A,,,,",
    ))
    token = token_of(preview)
    assert token
    db.session.delete(kim)  # now the first row would need a new client, and has no name
    db.session.commit()
    before = counts()
    response = client.post("/import/confirm", data={"token": token})
    assert response.status_code == 409
    assert "row 2: first_name is empty" in text(response)
    assert "Nothing was imported" in text(response)
    assert counts() == before
    # The stored upload is gone: confirming again cannot write half of it.
    assert client.post("/import/confirm", data={"token": token}).status_code == 400


def test_template_downloads_and_imports_cleanly(app, client_for):
    client = client_for(Role.EDIT)
    response = client.get("/import/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    preview = upload(client, response.data, "template.csv")
    assert preview.status_code == 200, text(preview)
    assert "Import 2 rows" in text(preview)


def test_import_page_and_nav_link(app, client_for):
    response = client_for(Role.EDIT).get("/import/")
    assert response.status_code == 200
    assert 'href="/import/"' in text(response)
    assert "Download a CSV template" in text(response)
