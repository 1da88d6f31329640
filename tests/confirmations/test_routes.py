"""Confirmation pages: the coloured column and filter in Appointments and the Outbox, the badge
the appointment page polls, the change by hand, and the settings."""

from core import settings
from core.appointments.models import Appointment
from core.audit.operations import history
from core.auth.models import Role
from core.confirmations.operations import mark_requested, set_status
from core.extensions import db
from core.messaging.compose import create_broadcast
from core.simulator.operations import send_reply

HX = {"HX-Request": "true"}


def _with_statuses(make_client, make_appointment):
    visits = {}
    for status in ("confirmed", "declined", "awaiting", "no_response", "not_requested"):
        visit = make_appointment(client=make_client(first_name=status.title()))
        if status != "not_requested":
            set_status(visit, status, "test")
        visits[status] = visit
    db.session.commit()
    return visits


def test_the_list_shows_a_coloured_column_and_filters_by_it(app, client_for, make_client,
                                                            make_appointment):
    visits = _with_statuses(make_client, make_appointment)
    reader = client_for(Role.READ_ONLY)
    html = reader.get("/appointments").get_data(as_text=True)
    assert "<th>Confirmation</th>" in html
    for status, colour in (("confirmed", "green"), ("declined", "red"), ("awaiting", "yellow"),
                           ("no_response", "grey")):
        assert (f'id="confirmation-{visits[status].id}" class="confirm confirm-{colour}"'
                in html)
    assert 'id="confirmation-poller"' in html
    for status in ("confirmed", "declined", "awaiting", "no_response"):
        page = reader.get(f"/appointments?confirmation={status}",
                          headers=HX).get_data(as_text=True)
        shown = [v for v in visits.values() if f'id="appointment-{v.id}"' in page]
        assert shown == [visits[status]]


def test_the_list_poll_swaps_the_badges_in_place(app, client_for, make_appointment):
    visit = make_appointment()
    reader = client_for(Role.READ_ONLY)
    html = reader.get(f"/confirmations/badges?ids={visit.id}", headers=HX).get_data(as_text=True)
    assert f'id="confirmation-{visit.id}"' in html and 'hx-swap-oob="true"' in html
    assert "Not Requested" in html and 'id="confirmation-poller"' in html
    assert reader.get("/confirmations/badges?ids=x").status_code == 400


def test_the_appointment_badge_updates_when_the_client_answers(app, client_for, make_client,
                                                               make_appointment, run_worker):
    ann = make_client(mobile="+12025550001")
    visit = make_appointment(client=ann)
    mark_requested([visit.id])
    db.session.commit()
    reader = client_for(Role.READ_ONLY)
    page = reader.get(f"/appointments/{visit.id}").get_data(as_text=True)
    assert "Awaiting reply" in page and f"/confirmations/appointment/{visit.id}/badge" in page
    assert "Say why" not in page and 'name="reason"' not in page  # read-only: no change form
    send_reply(ann.mobile, "YES")
    run_worker()
    badge = reader.get(f"/confirmations/appointment/{visit.id}/badge",
                       headers=HX).get_data(as_text=True)
    assert "Confirmed" in badge and "confirm-green" in badge and 'hx-trigger="every 5s"' in badge


def test_staff_change_the_status_by_hand_with_a_reason(app, client_for, make_appointment):
    visit = make_appointment()
    editor = client_for(Role.EDIT)
    assert 'name="reason"' in editor.get(f"/appointments/{visit.id}").get_data(as_text=True)
    url = f"/confirmations/appointment/{visit.id}"
    refused = editor.post(url, data={"status": "confirmed", "reason": ""}, headers=HX)
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    done = editor.post(url, data={"status": "confirmed", "reason": "Phoned us"}, headers=HX)
    assert done.status_code == 200 and "Confirmed" in done.get_data(as_text=True)
    assert db.session.get(Appointment, visit.id).confirmation_status == "confirmed"
    [event] = [e for e in history(appointment_id=visit.id)
               if e.action == "appointment.confirmation_changed"]
    assert "Phoned us" in event.summary and event.actor_id == editor.user.id
    plain = editor.post(url, data={"status": "declined", "reason": "Wrote to cancel"})
    assert plain.status_code == 303
    assert client_for(Role.READ_ONLY).post(url, data={"status": "confirmed",
                                                      "reason": "x"}).status_code == 403


def test_the_outbox_shows_the_confirmation_of_a_messages_appointment(app, client_for,
                                                                     make_appointment,
                                                                     run_worker):
    visit = make_appointment()
    create_broadcast(actor=None, channel="sms", recipients={"appointment_ids": [visit.id]},
                     body="Please confirm. {{ reply_hint }}")
    mark_requested([visit.id])
    db.session.commit()
    run_worker()
    html = client_for(Role.READ_ONLY).get("/messages/outbox").get_data(as_text=True)
    assert "<th>Confirmation</th>" in html and "confirm-yellow" in html
    assert "Awaiting reply" in html


def test_admins_set_the_sending_window_and_confirmation_settings(app, client_for):
    admin = client_for(Role.ADMIN)
    page = admin.get("/confirmations/settings").get_data(as_text=True)
    assert 'value="00:00"' in page and 'value="48"' in page  # the test config: no window
    assert admin.post("/confirmations/settings", data={
        "sending_window_start": "09:00", "sending_window_end": "",
        "confirmation_timeout_hours": "24"}).status_code == 422
    saved = admin.post("/confirmations/settings", data={
        "sending_window_start": "09:00", "sending_window_end": "20:30",
        "confirmation_cancel_on_no": "y", "confirmation_timeout_hours": "24"})
    assert saved.status_code == 303
    assert settings.snapshot(["sending_window_start", "sending_window_end",
                              "confirmation_cancel_on_no", "confirmation_timeout_hours"]) == {
        "sending_window_start": "09:00", "sending_window_end": "20:30",
        "confirmation_cancel_on_no": True, "confirmation_timeout_hours": 24}
    assert "settings.changed" in [e.action for e in history()]
    assert client_for(Role.EDIT).get("/confirmations/settings").status_code == 403
