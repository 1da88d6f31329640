"""Shared helpers of the import tests: build files, upload them, read the token back."""

import io
import re
from pathlib import Path

from sqlalchemy import func, select

from core.appointments.models import Appointment
from core.audit.models import AuditEvent
from core.clients.models import Client
from core.extensions import db

FIXTURES = Path(__file__).with_name("fixtures")
HEADER = ("first_name,last_name,company,mobile,email,contact_method,start,end,title,staff,"
          "location,job_number,status")


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    """A CSV file with the header and the given lines."""
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def fixture(name: str) -> bytes:
    """The bytes of a file under tests/imports/fixtures."""
    return (FIXTURES / name).read_bytes()


def upload(client, content: bytes, name: str = "clients.csv", **fields):
    """Post a file (and the upload form's other fields) to the preview step."""
    return client.post("/import/preview", data={"file": (io.BytesIO(content), name), **fields},
                       content_type="multipart/form-data")


def upload_fixture(client, name: str, **fields):
    """Post one of the fixture files to the preview step."""
    return upload(client, fixture(name), name, **fields)


def confirm(client, preview, partial: bool = False):
    """Confirm a previewed upload (optionally importing the valid rows only)."""
    data = {"token": token_of(preview)} | ({"partial": "1"} if partial else {})
    return client.post("/import/confirm", data=data)


def token_of(response) -> str | None:
    """The confirmation token of a preview page, or None when it offers no import."""
    body = response.get_data(as_text=True)
    match = re.search(r'name="token" type="hidden" value="([^"]*)"', body)
    return match[1] if match and match[1] else None


def counts() -> tuple[int, int, int]:
    """How many clients, appointments and audit events the database holds."""
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Client, Appointment, AuditEvent))


def text(response) -> str:
    return response.get_data(as_text=True)


def mapping_form(response) -> dict:
    """The fields of a mapping page as the browser would post them (the guessed choices)."""
    body = text(response)
    data = {"token": re.search(r'name="token" type="hidden" value="([^"]*)"', body)[1]}
    for box in re.finditer(r'<select id="(columns-\d+)" name="columns-\d+">(.*?)</select>',
                           body, re.DOTALL):
        chosen = re.search(r'<option selected value="([^"]*)"', box[2])
        data[box[1]] = chosen[1] if chosen else "ignore"
    data.update(dates="auto", default_minutes="30", default_title="Appointment", remember="y")
    return data
