"""Compose as the server renders it: plural rules, the Schedule button, the secure labels."""

import pytest

from blueprints.rendering import plural
from core.auth.models import Role
from tests.compose.test_routes import _form


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def test_plural_follows_english_rules():
    assert plural(1, "segment") == "1 segment"
    assert plural(2, "segment") == "2 segments"
    assert plural(0, "segment") == "0 segments"
    assert plural(1234, "recipient") == "1,234 recipients"
    assert plural(2, "reply", "replies") == "2 replies"
    assert plural(1, "appointment", number=False) == "appointment"


def test_one_segment_and_one_recipient_are_singular(app, editor, make_client):
    person = make_client(first_name="Ann")
    html = editor.post("/compose/count", data=_form(client_id=person.id)).get_data(as_text=True)
    assert '<strong class="count-segments">1</strong> segment\n' in html or \
        '<strong class="count-segments">1</strong> segment ' in html
    assert "1 segments" not in html and "1</strong> recipients" not in html
    assert "(1 segment ×" in html


def test_the_button_says_schedule_when_the_form_comes_back_scheduled(app, editor, make_client):
    person = make_client()
    page = editor.get("/compose/").get_data(as_text=True)
    assert 'id="compose-submit">Send</button>' in page
    # A scheduled send without a date comes back with its errors and still says Schedule.
    again = editor.post("/compose/", data=_form(client_id=person.id, when="later"))
    assert again.status_code == 422
    assert 'id="compose-submit">Schedule</button>' in again.get_data(as_text=True)


def test_the_secure_options_read_as_one_control(app, editor, secure_on):
    page = editor.get("/compose/").get_data(as_text=True)
    assert "Ask for a PIN" in page and "Require a PIN" not in page
    assert "PIN (4–8 digits)" in page and "optional" not in page.split("secure-pin")[1][:400]
    assert 'data-if-secure="sms email"' in page and "data-if-pin" in page
