"""Files that cannot be imported at all get one clear message, and nothing is written."""

from app import create_app
from core.auth.models import Role
from tests.imports.helpers import HEADER, counts, csv_file, text, token_of, upload

ROW = "Ana,L,,+12025550143,,,2030-03-04 09:30,2030-03-04 10:00,A,,,,"


def _refused(client, content: bytes, name: str = "clients.csv") -> str:
    before = counts()
    response = upload(client, content, name)
    assert response.status_code == 422
    assert token_of(response) is None
    assert counts() == before
    return text(response)


def test_not_utf8(app, client_for):
    content = csv_file(ROW.replace("Ana", "José")).decode().encode("latin-1")
    body = _refused(client_for(Role.EDIT), content)
    assert "The file is not UTF-8 text" in body


def test_empty_file_and_header_only(app, client_for):
    client = client_for(Role.EDIT)
    assert "The file is empty." in _refused(client, b"")
    assert "no rows to import" in _refused(client, (HEADER + "\r\n").encode())


def test_no_file_chosen(app, client_for):
    response = client_for(Role.EDIT).post("/import/preview", data={},
                                          content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a .csv or .ics file to import." in text(response)


def test_wrong_file_type(app, client_for):
    body = _refused(client_for(Role.EDIT), b"PK\x03\x04 spreadsheet", "clients.xlsx")
    assert "“clients.xlsx” is not a CSV (.csv) or iCal (.ics) file" in body
    body = _refused(client_for(Role.EDIT), b"PK\x03\x04\x00\x00 zip", "renamed.csv")
    assert "The file is not UTF-8 text" in body


def test_more_than_5000_rows(app, client_for):
    rows = [f"P{n},L,,,p{n}@example.com,email,2030-03-04 09:30,2030-03-04 10:00,A,,,,"
            for n in range(5001)]
    body = _refused(client_for(Role.EDIT), csv_file(*rows))
    assert "more than 5,000 rows" in body


def test_oversized_upload_gets_413_and_writes_nothing(app_config, _schema, app, make_user):
    small = create_app({**app_config, "MAX_CONTENT_LENGTH": 2048})
    user = make_user(Role.EDIT)
    client = small.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    before = counts()
    response = upload(client, csv_file(*[ROW] * 100))
    assert response.status_code == 413
    assert "File too large" in text(response)
    assert "Nothing was saved." in text(response)
    assert counts() == before


def test_unknown_tampered_and_foreign_tokens_are_refused(app, client_for):
    owner = client_for(Role.EDIT)
    preview = upload(owner, csv_file(ROW))
    token = token_of(preview)
    other = client_for(Role.EDIT)
    before = counts()
    altered = token[:-1] + ("a" if token[-1] != "a" else "b")
    for candidate in ("../../../etc/passwd", "A" * 32, altered, ""):
        response = owner.post("/import/confirm", data={"token": candidate})
        assert response.status_code == 400
        assert "This import is unknown, has expired or was already done" in text(response)
    response = other.post("/import/confirm", data={"token": token})
    assert response.status_code == 400, "another user cannot confirm someone's upload"
    assert counts() == before
    assert owner.post("/import/confirm", data={"token": token}).status_code == 303
    again = owner.post("/import/confirm", data={"token": token})
    assert again.status_code == 400, "a confirmed upload cannot be imported twice"
    assert counts()[1] == before[1] + 1
