"""The Templates page: list, create, validation messages, preview, delete, audit, Compose."""

from sqlalchemy import select

from core.audit.models import AuditEvent
from core.auth.models import Role
from core.automation.models import MessageTemplate
from core.extensions import db
from core.messaging.models import Message


def _form(**overrides) -> dict:
    values = {"name": "Two-day reminder", "kind": "reminder", "channel": "sms", "subject": "",
              "body": "Hi {{ first_name }}, see you {{ appointment_date }}."}
    values.update(overrides)
    return values


def test_read_only_sees_the_list_but_cannot_edit(client_for, make_template):
    make_template(name="Reminder A", body="Hi {{ first_name }}")
    html = client_for(Role.READ_ONLY).get("/templates").get_data(as_text=True)
    assert "Reminder A" in html and "Hi {{ first_name }}" in html
    assert "New template" not in html and ">Edit<" not in html


def test_create_audits_and_lists(client_for):
    client = client_for(Role.EDIT)
    response = client.post("/templates/new", data=_form())
    assert response.status_code == 303
    template = db.session.scalar(select(MessageTemplate))
    assert template.name == "Two-day reminder"
    assert db.session.scalar(select(AuditEvent.action)) == "template.created"
    assert "Two-day reminder" in client.get("/templates").get_data(as_text=True)


def test_validation_messages(client_for, make_template):
    client = client_for(Role.EDIT)
    make_template(name="Taken")
    cases = [
        (_form(name=""), "Give the template a name."),
        (_form(name="taken"), "A template called “taken” exists already."),
        (_form(body="  "), "Write the message: the text is empty."),
        (_form(body="Hi {{ nickname }}"), "Unknown merge field {{ nickname }}"),
        (_form(body="{% for x in y %}{% endfor %}"), "Only {{ field }} merge fields are allowed"),
        (_form(channel="email", subject=""), "Write a subject for the email."),
        (_form(body="x" * 1601), "A text may be at most 1,600 characters."),
    ]
    for data, message in cases:
        response = client.post("/templates/new", data=data)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True), message
    assert db.session.scalar(select(MessageTemplate.name).where(
        MessageTemplate.name != "Taken")) is None


def test_preview_uses_the_next_appointment_and_counts_segments(client_for, make_appointment,
                                                               make_client):
    make_appointment(client=make_client(first_name="Maria"), staff="Dr. Patel")
    client = client_for(Role.EDIT)
    html = client.post("/templates/preview", data=_form(
        body="Hi {{ first_name }}, {{ staff }} sees you 😀")).get_data(as_text=True)
    assert "Hi Maria, Dr. Patel sees you 😀" in html
    assert "UCS-2" in html and "the next upcoming appointment" in html


def test_preview_without_appointments_uses_a_sample(client_for):
    html = client_for(Role.EDIT).post("/templates/preview", data=_form(
        body="Hi {{ first_name }}")).get_data(as_text=True)
    assert "Hi Alex" in html and "made-up appointment" in html and "GSM-7" in html


def test_delete_refused_while_a_rule_uses_it(client_for, make_rule, make_template):
    template = make_template(name="Reminder")
    make_rule(name="Two days before", template=template)
    make_rule(name="Two hours before", template=template, timing="hours_before")
    client = client_for(Role.EDIT)
    response = client.post(f"/templates/{template.id}/delete", follow_redirects=True)
    assert ("“Reminder” is used by the rules “Two days before”, “Two hours before”: change "
            "or delete them first.") in response.get_data(as_text=True)
    assert db.session.get(MessageTemplate, template.id) is not None


def test_edit_and_delete_leave_queued_messages_alone(client_for, make_template,
                                                     make_appointment):
    template = make_template(name="Old", body="Old text")
    appointment = make_appointment()
    message = Message(client_id=appointment.client_id, appointment_id=appointment.id,
                      channel="sms", to_addr="+12025550100", body="Old text", status="queued")
    db.session.add(message)
    db.session.commit()
    client = client_for(Role.EDIT)
    assert client.post(f"/templates/{template.id}/edit",
                       data=_form(name="New", body="New text")).status_code == 303
    assert client.post(f"/templates/{template.id}/delete").status_code == 303
    db.session.expire_all()
    assert db.session.get(Message, message.id).body == "Old text"
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["template.edited", "template.deleted"]


def test_compose_offers_insert_template(client_for, make_template):
    make_template(name="Snow day", channel="email", subject="Closed", body="We are closed.")
    html = client_for(Role.EDIT).get("/compose/").get_data(as_text=True)
    assert 'id="insert-template"' in html
    assert 'data-subject="Closed" data-body="We are closed.">Snow day</option>' in html


def test_changes_are_listed_with_who_made_them(client_for):
    client = client_for(Role.EDIT)
    client.post("/templates/new", data=_form(name="Reminder"))
    html = client_for(Role.READ_ONLY).get("/templates").get_data(as_text=True)
    assert "Template “Reminder” created" in html and "Edit User" in html
