"""Logs: one line per request and per job with its id, JSON lines on request, and never a
message body, a PIN or a link token, through a whole send and a client opening the link."""

import json

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Message
from core.ops import logs
from core.simulator.models import SimMessage
from tests.secure.conftest import secure_on, token_in  # noqa: F401  (fixture)

PLAIN = "Zebra crossing closed near the clinic, use door B"
SECRET = "Biopsy result benign, Dr Okafor 77341"
PIN = "582947"


@pytest.fixture
def json_logs():
    """JSON log lines for the test, text again afterwards."""
    logs.configure("json")
    yield
    logs.configure("text")


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_each_request_has_one_line_and_its_request_id_echoed(client, json_logs, capfd):
    answer = client.get("/login", headers={"X-Request-ID": "req-from-proxy-42"})
    assert answer.headers["X-Request-ID"] == "req-from-proxy-42"
    made = client.get("/login").headers["X-Request-ID"]
    assert len(made) == 32 and made != "req-from-proxy-42"
    forged = client.get("/login", headers={"X-Request-ID": "<script> " + "x" * 80})
    assert len(forged.headers["X-Request-ID"]) == 32  # not taken: a fresh one

    lines = [r for r in json_lines(capfd.readouterr().err) if r["logger"] == "tidings.request"]
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [("GET", "/login", 200)] * 3
    assert lines[0]["request_id"] == "req-from-proxy-42" and lines[1]["request_id"] == made
    assert all(r["duration_ms"] >= 0 for r in lines)


def test_text_lines_carry_the_request_id(client, capfd):
    answer = client.get("/login", headers={"X-Request-ID": "abc-123"})
    assert answer.status_code == 200
    line = [t for t in capfd.readouterr().err.splitlines() if "tidings.request" in t][-1]
    assert "[abc-123]" in line and "GET /login 200" in line


def test_a_full_send_logs_no_body_no_pin_and_no_link(app, client_for, make_client, secure_on,  # noqa: F811
                                                    run_worker, client, json_logs, capfd):
    editor = client_for(Role.EDIT)
    person = make_client()
    form = {"recipients": "person", "client_id": str(person.id), "channel": "sms",
            "when": "now"}
    assert editor.post("/compose/", data={**form, "body": PLAIN}).status_code == 303
    assert editor.post("/compose/", data={**form, "body": SECRET, "secure": "y",
                                          "secure_pin": PIN, "secure_hours": "24"}
                       ).status_code == 303
    run_worker(queues=["high", "default"])
    statuses = set(db.session.scalars(db.select(Message.status)))
    assert statuses <= {"sent", "delivered"}, statuses
    notice = db.session.scalars(db.select(SimMessage).where(
        SimMessage.body.contains("/s/"))).one()
    token = token_in(notice.body)
    # The client opens the link and types the PIN.
    assert client.get(f"/s/{token}").status_code == 200
    client.post(f"/s/{token}/reveal")
    assert client.post(f"/s/{token}/pin", data={"pin": PIN}).status_code == 303
    assert SECRET in client.get(f"/s/{token}/message").get_data(as_text=True)

    captured = capfd.readouterr()
    output = captured.out + captured.err
    lines = json_lines(captured.err)
    assert any(r.get("func") == "core.messaging.tasks.deliver" and r.get("job_id")
               for r in lines), "no job line"
    assert any(r.get("path") == "/s/…/pin" for r in lines), "no masked portal line"
    for secret in (PLAIN, SECRET, "Zebra crossing", "Okafor", PIN, token):
        assert secret not in output, f"{secret!r} is in the logs"
