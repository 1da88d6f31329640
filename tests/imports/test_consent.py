"""The marketing-consent column of an import: yes/no (true/false, 1/0) with an optional date,
recorded with source "import" on the client's consent history; a bad value is a row error."""

from datetime import UTC, datetime

from sqlalchemy import select

from core.auth.models import Role
from core.clients.consent import consent_history
from core.clients.models import Client
from core.extensions import db
from tests.imports.helpers import (
    HEADER,
    confirm,
    counts,
    csv_file,
    mapping_form,
    text,
    token_of,
    upload,
)

CONSENT_HEADER = HEADER + ",marketing_consent,marketing_consent_date"


def _row(first: str, mobile: str, consent: str, on: str = "", start: str = "09:00") -> str:
    return (f"{first},Test,,{mobile},,text,2030-03-04 {start},2030-03-04 10:00,Visit,,,,,"
            f"{consent},{on}")


def _client(mobile: str) -> Client:
    db.session.expire_all()
    return db.session.scalar(select(Client).where(Client.mobile == mobile))


def test_consent_column_gives_and_withdraws_with_history(app, client_for, make_client):
    editor = client_for(Role.EDIT)
    kim = make_client(first_name="Kim", mobile="+12025550100", marketing_consent=True)
    content = csv_file(_row("Ana", "+12025550143", "Yes", "2026-01-15"),
                       _row("Ben", "+12025550144", "TRUE"),
                       _row("Cy", "+12025550145", "0"),
                       _row("Kim", "+12025550100", "no"),
                       header=CONSENT_HEADER)
    preview = upload(editor, content)
    assert preview.status_code == 200, text(preview)
    assert "Marketing consent" in text(preview) and "yes (2026-01-15)" in text(preview)
    assert confirm(editor, preview).status_code == 303

    ana, ben, cy = (_client(m) for m in ("+12025550143", "+12025550144", "+12025550145"))
    assert ana.marketing_consent and ana.marketing_consent_source == "import"
    assert ana.marketing_consent_at == datetime(2026, 1, 15, 5, 0, tzinfo=UTC)  # New York
    assert ben.marketing_consent and ben.marketing_consent_at.year >= 2026
    assert not cy.marketing_consent and consent_history(cy.id) == []  # nothing to withdraw
    assert not _client("+12025550100").marketing_consent
    assert [e.summary for e in consent_history(ana.id)] == [
        "Marketing consent given imported (dated 2026-01-15)"]
    assert [e.summary for e in consent_history(kim.id)] == [
        "Marketing consent withdrawn imported"]
    assert consent_history(ana.id)[0].data["source"] == "import"
    card = editor.get(f"/clients/{ana.id}").get_data(as_text=True)
    assert "Marketing consent given imported (dated 2026-01-15)" in card


def test_a_bad_consent_value_or_date_is_a_row_error(app, client_for):
    editor = client_for(Role.EDIT)
    content = csv_file(_row("Ana", "+12025550143", "maybe"),
                       _row("Ben", "+12025550144", "yes", "soon"),
                       _row("Cy", "+12025550145", "yes", "2999-01-01"),
                       _row("Dee", "+12025550146", "yes"),
                       header=CONSENT_HEADER)
    before = counts()
    response = upload(editor, content)
    assert response.status_code == 422
    body = text(response)
    assert "row 2: marketing_consent “maybe” must be yes or no (or true/false, 1/0)" in body
    assert "row 3: marketing consent date “soon” is not a date" in body
    assert "row 4: marketing consent date “2999-01-01” is in the future" in body
    assert "row 5" not in body.split("import-rows")[0]
    assert counts() == before
    assert confirm(editor, response, partial=True).status_code == 303
    assert _client("+12025550146").marketing_consent
    assert _client("+12025550143") is None


def test_reimport_changes_only_consent_and_says_so(app, client_for):
    editor = client_for(Role.EDIT)
    first = upload(editor, csv_file(_row("Ana", "+12025550143", ""), header=CONSENT_HEADER))
    assert confirm(editor, first).status_code == 303
    assert not _client("+12025550143").marketing_consent

    again = upload(editor, csv_file(_row("Ana", "+12025550143", "1"), header=CONSENT_HEADER))
    assert token_of(again), "a consent change alone is something to import"
    assert "consent</span>" in text(again)
    done = confirm(editor, again)
    assert done.status_code == 303
    with editor.session_transaction() as session:
        flashes = [m for _, m in session.get("_flashes", [])]
    assert any("marketing consent changed for 1 client" in m for m in flashes), flashes
    assert _client("+12025550143").marketing_consent

    same = upload(editor, csv_file(_row("Ana", "+12025550143", "y"), header=CONSENT_HEADER))
    assert token_of(same) is None and "already up to date" in text(same)


def test_the_mapping_step_recognises_a_consent_column(app, client_for):
    editor = client_for(Role.EDIT)
    content = (b"Name,Mobile,Accepts Marketing,Opt-in date\r\n"
               b"Ana Lopez,+12025550143,yes,03/02/2026\r\n"
               b"Ben Okafor,+12025550144,no,\r\n")
    page = upload(editor, content, "shop.csv")
    assert "Which column is what?" in text(page)
    form = mapping_form(page)
    assert form["columns-2"] == "marketing_consent"
    assert form["columns-3"] == "marketing_consent_date"
    preview = editor.post("/import/map", data=form)
    assert preview.status_code == 200, text(preview)
    assert confirm(editor, preview).status_code == 303
    ana = _client("+12025550143")
    assert ana.marketing_consent and ana.marketing_consent_at.date() == datetime(
        2026, 3, 2).date()  # month first in the US
    assert not _client("+12025550144").marketing_consent
