"""Appointment details, the create and edit forms, and the status control; all audited."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from core.appointments.models import Appointment
from core.audit.models import AuditEvent
from core.audit.operations import history
from core.auth.models import Role
from core.extensions import db
from tests.appointments.conftest import local

HX = {"HX-Request": "true"}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _form(client_id: int, **overrides) -> dict:
    data = {"client_id": str(client_id), "start_at": "2031-03-04T09:30",
            "end_at": "2031-03-04T10:15", "title": "Boiler service", "staff": "Sam",
            "location": "On site", "status": "scheduled", "job_number": "J-9"}
    data.update(overrides)
    return data


def test_create_stores_utc_and_audits_on_appointment_and_client(client_for, make_client):
    client = make_client()
    browser = client_for(Role.EDIT)
    response = browser.post("/appointments/new", data=_form(client.id))
    assert response.status_code == 303
    appointment = db.session.scalars(select(Appointment)).one()
    # 9:30 in New York in March 2031 (EST, UTC-5) is 14:30 UTC.
    assert appointment.start_at == datetime(2031, 3, 4, 14, 30, tzinfo=UTC)
    assert appointment.end_at == datetime(2031, 3, 4, 15, 15, tzinfo=UTC)
    assert [e.action for e in history(appointment_id=appointment.id)] == ["appointment.created"]
    assert [e.action for e in history(client_id=client.id)] == ["appointment.created"]
    page = browser.get(response.location).get_data(as_text=True)
    assert "Tue 4 Mar 2031, 9:30 AM" in page and "Boiler service" in page


def test_end_before_start_is_refused_and_nothing_written(client_for, make_client):
    client = make_client()
    response = client_for(Role.EDIT).post(
        "/appointments/new", data=_form(client.id, end_at="2031-03-04T09:00"), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The end must be after the start." in html and "<html" not in html
    assert _count(Appointment) == 0 and _count(AuditEvent) == 0


def test_missing_client_and_skipped_clock_time_are_refused(client_for, make_client):
    browser = client_for(Role.EDIT)
    assert "Choose a client." in browser.post(
        "/appointments/new", data=_form(0)).get_data(as_text=True)
    # 2:30 AM on 9 March 2031 does not exist in New York: the clocks jump from 2:00 to 3:00.
    html = browser.post("/appointments/new", data=_form(
        make_client().id, start_at="2031-03-09T02:30", end_at="2031-03-09T04:00"))
    assert "does not exist in America/New_York" in html.get_data(as_text=True)
    assert _count(Appointment) == 0


def test_several_appointments_may_share_a_job_number(client_for, make_client):
    client = make_client()
    browser = client_for(Role.EDIT)
    for day in ("04", "11"):
        assert browser.post("/appointments/new", data=_form(
            client.id, start_at=f"2031-03-{day}T09:30", end_at=f"2031-03-{day}T10:00"
        )).status_code == 303
    first, second = db.session.scalars(select(Appointment).order_by(Appointment.id)).all()
    assert first.job_number == second.job_number == "J-9"
    html = browser.get(f"/appointments/{first.id}").get_data(as_text=True)
    assert "Other visits of job J-9" in html and f"/appointments/{second.id}" in html


def test_edit_is_audited_on_both_histories(client_for, make_appointment):
    appointment = make_appointment(title="Check-up", start_at=local(1, 9))
    browser = client_for(Role.EDIT)
    form = browser.get(f"/appointments/{appointment.id}/edit").get_data(as_text=True)
    wall = local(1, 9).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{wall}"' in form
    response = browser.post(f"/appointments/{appointment.id}/edit", data=_form(
        appointment.client_id, start_at=wall, end_at=local(1, 10).strftime("%Y-%m-%dT%H:%M"),
        title="Annual check-up", staff="Dr. Lee", location="Main office", job_number=""))
    assert response.status_code == 303
    event = history(appointment_id=appointment.id)[0]
    assert event.action == "appointment.edited"
    assert event.data["changes"] == {"title": ["Check-up", "Annual check-up"]}
    assert history(client_id=appointment.client_id)[0].id == event.id


def test_status_change_records_old_and_new(client_for, make_appointment):
    appointment = make_appointment()
    browser = client_for(Role.EDIT)
    response = browser.post(f"/appointments/{appointment.id}/status",
                            data={"status": "en_route"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="appointment-status"' in html and "En Route" in html
    assert 'id="history" class="timeline history" hx-swap-oob="true"' in html
    assert "Status Scheduled → En Route" in html
    event = history(client_id=appointment.client_id)[0]
    assert (event.action, event.appointment_id, event.data) == (
        "appointment.status", appointment.id, {"old": "scheduled", "new": "en_route"})
    # The same status again records nothing; a plain form post redirects.
    response = browser.post(f"/appointments/{appointment.id}/status", data={"status": "en_route"})
    assert response.status_code == 303
    assert len(history(appointment_id=appointment.id)) == 1


def test_bad_status_is_refused(client_for, make_appointment):
    appointment = make_appointment()
    response = client_for(Role.EDIT).post(
        f"/appointments/{appointment.id}/status", data={"status": "teleported"}, headers=HX)
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "scheduled"


def test_read_only_staff_see_but_cannot_change(client_for, make_client, make_appointment):
    appointment = make_appointment()
    browser = client_for(Role.READ_ONLY)
    page = browser.get(f"/appointments/{appointment.id}").get_data(as_text=True)
    assert "Change status" not in page and f"/appointments/{appointment.id}/edit" not in page
    assert browser.post(f"/appointments/{appointment.id}/status",
                        data={"status": "cancelled"}).status_code == 403
    assert browser.post("/appointments/new", data=_form(make_client().id)).status_code == 403
    assert browser.post(f"/appointments/{appointment.id}/edit",
                        data=_form(appointment.client_id)).status_code == 403
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "scheduled"
    assert _count(Appointment) == 1 and _count(AuditEvent) == 0


def test_detail_shows_messages_and_missing_ids_are_404(client_for, make_appointment, add_message):
    appointment = make_appointment()
    add_message(appointment, body="See you tomorrow at 9")
    add_message(appointment, direction="in", body="YES")
    browser = client_for(Role.READ_ONLY)
    html = browser.get(f"/appointments/{appointment.id}").get_data(as_text=True)
    assert html.index("YES") < html.index("See you tomorrow at 9")
    for url in ("/appointments/987654", "/appointments/987654/edit"):
        assert client_for(Role.EDIT).get(url).status_code == 404
    assert client_for(Role.EDIT).post("/appointments/987654/status",
                                      data={"status": "working"}).status_code == 404


def test_new_form_can_start_from_a_client(client_for, make_client):
    client = make_client(first_name="Preselected")
    html = client_for(Role.EDIT).get(f"/appointments/new?client_id={client.id}")
    assert f'<option selected value="{client.id}">' in html.get_data(as_text=True)
