"""Partial imports (valid rows in, the rest downloadable) and re-imports of overlapping exports."""

import csv
import io

from sqlalchemy import select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.extensions import db
from tests.imports.helpers import confirm, counts, csv_file, text, token_of, upload

ANA = "Ana,Lopez,,+12025550143,,,2030-03-04 09:30,2030-03-04 10:00,Check-up,Dr. Lee,,J-1,"
BEN = "Ben,Ode,,+12025550144,,,2030-03-05 09:30,2030-03-05 10:00,Cleaning,Sam,,J-2,"
CY = "Cy,Roe,,+12025550145,,,2030-03-06 09:30,2030-03-06 10:00,X-ray,Sam,,J-3,"


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


def test_valid_rows_are_imported_and_the_skipped_ones_downloaded(app, client_for):
    client = client_for(Role.EDIT)
    bad = "Di,S,,12345,,,2030-03-07 09:30,2030-03-07 10:00,Check-up,,,,"
    preview = upload(client, csv_file(ANA, bad, BEN))
    assert "Import the 2 valid rows and skip the 1 with errors" in text(preview)
    response = confirm(client, preview, partial=True)
    assert response.status_code == 303
    assert "Imported 2 appointments (2 new clients); 1 row with errors skipped." in _flashes(
        client)
    assert counts()[:2] == (2, 2)
    done = client.get(response.headers["Location"])
    assert "Download the skipped rows" in text(done)
    token = response.headers["Location"].rsplit("/", 1)[1]
    download = client.get(f"/import/skipped/{token}.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(r["where"], r["first_name"]) for r in rows] == [("row 3", "Di")]
    assert "mobile “12345” is not a valid phone number" in rows[0]["errors"]
    assert client_for(Role.EDIT).get(f"/import/skipped/{token}.csv").status_code == 404


def test_overlapping_daily_exports_update_and_skip_instead_of_refusing(app, client_for):
    client = client_for(Role.EDIT)
    assert confirm(client, upload(client, csv_file(ANA, BEN))).status_code == 303
    before = counts()

    # Today's export repeats yesterday's rows (Ben moved to another staff member) and adds Cy.
    today = csv_file(ANA, BEN.replace(",Sam,", ",Alex,"), CY, ANA)
    preview = upload(client, today)
    body = text(preview)
    assert preview.status_code == 200, body
    assert "Import 2 rows" in body and "2 already up to date or repeated" in body
    assert confirm(client, preview).status_code == 303
    assert counts()[1] == before[1] + 1
    db.session.expire_all()
    staff = {a.title: a.staff for a in db.session.scalars(select(Appointment))}
    assert staff == {"Check-up": "Dr. Lee", "Cleaning": "Alex", "X-ray": "Sam"}

    again = upload(client, today)
    assert token_of(again) is None
    assert "already up to date" in text(again)
