"""A mass notice opens no conversation: a thread opens when the client writes, or when staff
write to them from Conversations; the notice shows inside the thread once the client answers."""

import pytest

from core.auth.models import Role
from core.simulator.operations import send_reply

NOTICE = "We are closed today because of snow."


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


@pytest.fixture
def notified(editor, make_client, make_appointment, run_worker):
    """Ann, Ben and Cy each got the mass notice about their appointment."""
    people = {}
    for first, mobile in (("Ann", "+12025550101"), ("Ben", "+12025550102"),
                          ("Cy", "+12025550103")):
        client = make_client(first_name=first, last_name="Snow", mobile=mobile)
        appointment = make_appointment(client=client)
        editor.post(f"/appointments/{appointment.id}/select", data={"selected": "1"})
        people[first] = client
    response = editor.post("/compose/", data={"recipients": "selected", "channel": "sms",
                                              "when": "now", "body": NOTICE})
    assert response.status_code == 303
    run_worker()
    return people


def _listing(http, state="open") -> str:
    return http.get("/conversations/", query_string={"state": state}).get_data(as_text=True)


def test_a_mass_notice_opens_no_thread(editor, notified):
    for state in ("open", "all"):
        listing = _listing(editor, state)
        assert "Snow" not in listing and "No response" not in listing


def test_the_clients_answer_opens_the_thread_with_the_notice_in_it(editor, notified):
    send_reply(notified["Ann"].mobile, "Does that mean Friday is off too?")
    listing = _listing(editor)
    assert "Ann Snow" in listing and "Ben Snow" not in listing and "Cy Snow" not in listing
    thread = editor.get(f"/conversations/{notified['Ann'].id}").get_data(as_text=True)
    assert thread.index(NOTICE) < thread.index("Does that mean Friday is off too?")


def test_staff_writing_from_conversations_opens_the_thread(editor, notified, run_worker):
    ben = notified["Ben"]
    response = editor.post(f"/conversations/{ben.id}/reply",
                           data={"body": "Ben, shall we move you to Monday?"})
    assert response.status_code in (200, 303)
    run_worker()
    listing = _listing(editor)
    assert "Ben Snow" in listing and "No response" in listing  # we wrote; he has not answered
    assert "Ann Snow" not in listing and "Cy Snow" not in listing
