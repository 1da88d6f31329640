"""Hostile templates (thousands of chained filters, hundreds of nested defaults, a huge
output) are refused with a clear message in preview and send: never a 500."""

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging import templating
from core.messaging.models import Broadcast
from core.messaging.templating import TemplateError, compile_template

CHAINED = "Hi {{ first_name" + "|upper" * 3000 + " }}"
NESTED = "Hi {{ " + "first_name|default(" * 400 + "'there'" + ")" * 400 + " }}"
HOSTILE = {
    "chained": (CHAINED, "A merge field may have at most 10 filters."),
    "nested": (NESTED, "Merge fields are nested too deeply"),
}


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _form(person, body: str, channel: str = "email") -> dict:
    return {"recipients": "person", "client_id": person.id, "channel": channel,
            "subject": "Hello", "body": body, "when": "now"}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_preview_refuses_a_hostile_template_with_a_message(editor, make_client, name, channel):
    source, message = HOSTILE[name]
    response = editor.post("/compose/preview", data=_form(make_client(), source, channel))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("name", HOSTILE)
def test_send_refuses_a_hostile_template_with_a_message(editor, make_client, name):
    source, message = HOSTILE[name]
    response = editor.post("/compose/", data=_form(make_client(), source))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(db.select(Broadcast)).all() == []


@pytest.mark.parametrize("name", HOSTILE)
def test_the_subject_is_bounded_too(editor, make_client, name):
    source, message = HOSTILE[name]
    data = {**_form(make_client(), "Hi"), "subject": source[:200]}
    response = editor.post("/compose/", data=data)
    assert response.status_code == 422 and response.status_code != 500


def test_a_text_that_fills_in_too_long_is_refused(app):
    huge = "{{ first_name | default('x') }}" * 400  # 400 x 255 characters once filled in
    with pytest.raises(TemplateError, match="could exceed 100,000 characters"):
        compile_template(huge)


def test_a_template_slow_to_fill_in_is_refused(app, monkeypatch):
    monkeypatch.setattr(templating, "MAX_RENDER_SECONDS", 0.0)
    with pytest.raises(TemplateError, match="takes too long to fill in"):
        compile_template("Hi {{ first_name | title }}")


def test_usual_templates_stay_accepted(app):
    source = ("Hello {{ first_name | default('there') | title }}, see you "
              "{{ appointment_datetime }} with {{ staff | upper }} at {{ location }}.")
    assert compile_template(source).fields == {"first_name", "appointment_datetime", "staff",
                                               "location"}
