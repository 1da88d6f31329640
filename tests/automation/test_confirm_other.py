"""Send confirmation to another contact's mobile: checked with the phone parsing, sent there,
and that number's YES or NO answers the appointment."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Message
from core.simulator.operations import send_reply
from tests.conversations.test_keywords import phone_texts

OTHER = "+12025550177"


def _at(days: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 19, 30, tzinfo=UTC)


def _form(template, **overrides) -> dict:
    values = {"visit": "", "template_id": template.id, "channel": "sms", "subject": "",
              "body": "Please reply YES to confirm {{ appointment_datetime }} or NO.",
              "other_mobile": ""}
    values.update(overrides)
    return values


def _appointment(appointment_id) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, appointment_id)


def test_a_request_to_another_mobile_is_answered_from_that_number(
        client_for, make_template, make_client, make_appointment, run_worker):
    template = make_template(kind="confirmation")
    ann = make_client(first_name="Ann", mobile="+12025550001")
    visit = make_appointment(client=ann, start_at=_at(2))
    client = client_for(Role.EDIT)
    page = client.get(f"/automation/appointments/{visit.id}/confirm").get_data(as_text=True)
    assert "Or text another contact" in page
    response = client.post(f"/automation/appointments/{visit.id}/confirm",
                           data=_form(template, visit=visit.id, other_mobile="(202) 555-0177"),
                           follow_redirects=True)
    assert "on its way to +1 202-555-0177" in response.get_data(as_text=True)
    run_worker()
    message = db.session.scalar(select(Message).where(Message.direction == "out"))
    assert (message.to_addr, message.client_id, message.appointment_id) == (
        OTHER, ann.id, visit.id)
    assert phone_texts(ann.mobile) == []
    assert (_appointment(visit.id).confirmation_status,
            _appointment(visit.id).confirmation_to) == ("awaiting", OTHER)

    send_reply(OTHER, "yes")
    run_worker()
    assert _appointment(visit.id).confirmation_status == "confirmed"
    assert any("is confirmed" in text for text in phone_texts(OTHER))


def test_a_later_request_to_the_client_no_longer_listens_to_the_other_number(
        client_for, make_template, make_client, make_appointment, run_worker):
    template = make_template(kind="confirmation")
    visit = make_appointment(client=make_client(mobile="+12025550001"), start_at=_at(2))
    client = client_for(Role.EDIT)
    url = f"/automation/appointments/{visit.id}/confirm"
    client.post(url, data=_form(template, visit=visit.id, other_mobile=OTHER))
    client.post(url, data=_form(template, visit=visit.id))  # asked the client this time
    assert _appointment(visit.id).confirmation_to is None
    send_reply(OTHER, "no")
    run_worker()
    assert _appointment(visit.id).confirmation_status == "awaiting"


def test_a_malformed_or_landline_number_or_email_is_refused_on_the_field(
        client_for, make_template, make_appointment):
    template = make_template(kind="confirmation")
    visit = make_appointment(start_at=_at(2))
    client = client_for(Role.EDIT)
    url = f"/automation/appointments/{visit.id}/confirm"
    cases = [({"other_mobile": "12ab"}, "“12ab” is not a phone number."),
             ({"other_mobile": "+1 202 555"}, "is not a valid phone number."),
             ({"other_mobile": "+44 20 7946 0018"}, "cannot receive texts."),
             ({"other_mobile": OTHER, "channel": "email", "subject": "Confirm"},
              "Another contact gets a text: choose Text (SMS).")]
    for overrides, message in cases:
        response = client.post(url, data=_form(template, visit=visit.id, **overrides))
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True), message
    assert db.session.scalar(select(Message.id)) is None
    assert _appointment(visit.id).confirmation_status == "not_requested"


def test_a_stop_from_the_other_number_refuses_the_request(client_for, make_template, make_client,
                                             make_appointment):
    template = make_template(kind="confirmation")
    make_client(first_name="Parent", mobile=OTHER, opted_out=True)
    visit = make_appointment(start_at=_at(2))
    response = client_for(Role.EDIT).post(f"/automation/appointments/{visit.id}/confirm",
                                          data=_form(template, visit=visit.id,
                                                     other_mobile=OTHER))
    assert response.status_code == 422
    assert "No one can receive this (opted out: 1)" in response.get_data(as_text=True)
    assert db.session.scalar(select(Message.id)) is None
