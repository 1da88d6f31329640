"""plan(): one row per recipient, rendered, or skipped with the reason a person would give."""

from datetime import timedelta

from core.clients.models import ContactMethod
from core.extensions import db
from core.messaging.models import Broadcast
from core.messaging.recipients import plan, summarize
from core.types import utcnow


def _plan(channel="sms", body="Hi {{ first_name }}", send_at=None, **recipients):
    draft = Broadcast(channel=channel, subject="", body=body, recipients=recipients,
                      send_at=send_at)
    return list(plan(draft))


def test_skip_reasons(app, make_client, make_appointment):
    people = {
        "ok": make_client(first_name="Ok"),
        "opted": make_client(first_name="Opted", opted_out=True),
        "dnc": make_client(first_name="Dnc", contact_method=ContactMethod.DO_NOT_CONTACT),
        "nomobile": make_client(first_name="NoMobile", mobile=None),
        "invalid": make_client(first_name="Invalid", mobile="+1202555"),
        "landline": make_client(first_name="Landline", mobile="+442071838750"),
    }
    ids = [make_appointment(client=c).id for c in people.values()]
    rows = _plan(appointment_ids=ids)
    assert [(r.body, r.skip_reason) for r in rows] == [
        ("Hi Ok", None),
        ("Hi Opted", "Opted out"),
        ("Hi Dnc", "Do Not Contact"),
        ("Hi NoMobile", "No mobile number"),
        ("Hi Invalid", "Invalid number"),
        ("Hi Landline", "Landline cannot receive texts"),
    ]
    assert rows[0].to_addr == people["ok"].mobile
    assert [r.appointment_id for r in rows] == ids


def test_email_needs_an_address_and_a_landline_may_take_a_call(app, make_client):
    no_email = make_client(email=None)
    landline = make_client(mobile="+442071838750")
    assert _plan("email", client_id=no_email.id)[0].skip_reason == "No email address"
    call = _plan("voice", client_id=landline.id)[0]
    assert (call.skip_reason, call.to_addr) == (None, "+442071838750")


def test_a_second_identical_message_to_one_client_is_a_duplicate(app, make_client,
                                                                 make_appointment):
    client = make_client(first_name="Twice")
    first, second = make_appointment(client=client), make_appointment(client=client)
    rows = _plan(body="Closed today, {{ first_name }}.", appointment_ids=[first.id, second.id])
    assert [r.skip_reason for r in rows] == [None, "Duplicate"]
    # With the appointment time merged in, the texts differ: both go.
    second_start = second.start_at + timedelta(days=1)
    second.start_at = second_start
    db.session.commit()
    rows = _plan(body="See you {{ appointment_datetime }}", appointment_ids=[first.id, second.id])
    assert [r.skip_reason for r in rows] == [None, None]


def test_a_typed_number_of_an_opted_out_client_is_still_refused(app, make_client):
    client = make_client(opted_out=True, mobile="+12025550177")
    rows = _plan(address="(202) 555-0177")
    assert (rows[0].client_id, rows[0].skip_reason) == (client.id, "Opted out")
    stranger = _plan(address="+12025550199", body="Hello {{ first_name | default('there') }}")
    assert (stranger[0].client_id, stranger[0].to_addr, stranger[0].body) == (
        None, "+12025550199", "Hello there")


def test_send_at_is_now_or_the_scheduled_time(app, make_client):
    client = make_client()
    later = utcnow() + timedelta(hours=3)
    assert _plan(client_id=client.id, send_at=later)[0].send_at == later
    assert abs(_plan(client_id=client.id)[0].send_at - utcnow()) < timedelta(seconds=5)


def test_missing_appointments_are_left_out(app, make_appointment):
    real = make_appointment()
    assert [r.appointment_id for r in _plan(appointment_ids=[987654, real.id])] == [real.id]


def test_many_appointments_stream_in_chunks(app, make_client, query_counter):
    """Two and a half chunks of appointments: three queries, never one per appointment."""
    from core.appointments.models import Appointment
    from core.messaging.recipients import CHUNK

    count = CHUNK * 2 + CHUNK // 2

    client = make_client()
    start = utcnow() + timedelta(days=1)
    db.session.execute(
        Appointment.__table__.insert(),
        [{"client_id": client.id, "start_at": start + timedelta(minutes=i),
          "end_at": start + timedelta(minutes=i + 30), "title": "Visit", "staff": "",
          "location": "", "status": "scheduled", "created_at": start} for i in range(count)],
    )
    db.session.commit()
    ids = list(db.session.scalars(db.select(Appointment.id)))
    with query_counter() as statements:
        draft = Broadcast(channel="sms", subject="", body="At {{ appointment_time }}",
                          recipients={"appointment_ids": ids})
        summary = summarize(plan(draft), keep=5)
    assert summary.total == count and len(summary.rows) == 5 and summary.more == count - 5
    appointment_queries = [s for s in statements if "FROM appointments" in s]
    assert len(appointment_queries) == 3
